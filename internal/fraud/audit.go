package fraud

import (
	"context"
	"time"
)

// AuditEvent is one entry of the audit log: a security event (block, unblock, auth failure,
// attack hit) or an admin action (model reload, admin key use, job deletion).
type AuditEvent struct {
	ID        int64     `json:"id" doc:"Sequence number of the event in the store."`
	Time      time.Time `json:"time" doc:"When it happened (UTC)."`
	RequestID string    `json:"request_id" doc:"The request that caused it, when there is one."`
	ClientIP  string    `json:"client_ip" doc:"The client's address."`
	KeyName   string    `json:"key_name" doc:"Name of the API key used, when one was."`
	Action    string    `json:"action" doc:"What happened, such as auth_failure, attack_detected, ip_blocked, ip_unblocked, model_reload, admin_access, job_delete, audit_purge."`
	Outcome   string    `json:"outcome" doc:"How it ended: success, denied, blocked or failure."`
	Detail    string    `json:"detail" doc:"Free text: the rule that fired, the route, the reason."`
}

// Audit actions.
const (
	ActionAuthFailure    = "auth_failure"
	ActionForbidden      = "forbidden"
	ActionAttackDetected = "attack_detected"
	ActionIPBlocked      = "ip_blocked"
	ActionIPUnblocked    = "ip_unblocked"
	ActionAdminAccess    = "admin_access"
	ActionModelReload    = "model_reload"
	ActionKeysReload     = "keys_reload"
	ActionJobDelete      = "job_delete"
	ActionLogLevel       = "log_level"
	ActionAuditPurge     = "audit_purge"
)

// Audit outcomes.
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
	OutcomeBlocked = "blocked"
	OutcomeFailure = "failure"
)

// AuditFilter selects audit events: by action (empty = any) and time range (zero = open), newest
// first, Limit at a time from Offset.
type AuditFilter struct {
	Action string
	Since  time.Time
	Until  time.Time
	Offset int
	Limit  int
}

// AuditLog stores audit events durably.
type AuditLog interface {
	// RecordAudit stores e; its ID is assigned by the store.
	RecordAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns the events that match f, newest first, and how many match in all.
	ListAudit(ctx context.Context, f AuditFilter) ([]AuditEvent, int, error)
	// PurgeAuditBefore deletes the events with a time before t and returns how many it
	// deleted (AUDIT_RETENTION_DAYS).
	PurgeAuditBefore(ctx context.Context, t time.Time) (int64, error)
}
