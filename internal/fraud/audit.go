package fraud

import (
	"context"
	"time"

	"github.com/fraudguard/fraudguard/wire"
)

// AuditEvent is one entry of the audit log: a security event (block, unblock, auth failure,
// attack hit) or an admin action (model reload, admin key use, job deletion). It is the wire
// type that GET /security/audit lists.
type AuditEvent = wire.AuditEvent

// Audit actions.
const (
	ActionAuthFailure    = "auth_failure"
	ActionForbidden      = "forbidden"
	ActionAttackDetected = "attack_detected"
	ActionIPBlocked      = "ip_blocked"
	ActionIPUnblocked    = "ip_unblocked"
	ActionAdminAccess    = "admin_access"
	ActionModelReload    = "model_reload"
	ActionModelActivate  = "model_activate"
	ActionModelRollback  = "model_rollback"
	ActionKeysReload     = "keys_reload"
	ActionJobDelete      = "job_delete"
	ActionLogLevel       = "log_level"
	ActionAuditPurge     = "audit_purge"
	ActionFeedback       = "feedback"
	ActionDecisionErase  = "decision_erase"
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
