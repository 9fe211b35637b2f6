package wire

import "time"

// BlockedResponse is the answer of GET /security/blocked.
type BlockedResponse struct {
	Blocked []Blocked `json:"blocked" doc:"Addresses blocked now, by automatic blocking (static IP_BLOCKLIST entries are not listed)."`
}

// Blocked is one address blocked now.
type Blocked struct {
	IP           string    `json:"ip" doc:"The blocked address."`
	Until        time.Time `json:"until" doc:"When the block ends."`
	Reason       string    `json:"reason" doc:"The strike that tipped it over."`
	RetryAfterS  int       `json:"retry_after" doc:"Seconds until the block ends."`
	StrikesTotal int       `json:"strikes" doc:"Strikes counted for the address."`
}

// UnblockResponse is the answer of DELETE /security/blocked/{ip}.
type UnblockResponse struct {
	IP        string `json:"ip" doc:"The address."`
	Unblocked bool   `json:"unblocked" doc:"Whether it was blocked until now."`
}

// AuditResponse is the answer of GET /security/audit.
type AuditResponse struct {
	Events []AuditEvent `json:"events" doc:"Matching events, newest first."`
	Total  int          `json:"total" doc:"How many events match in all."`
	Offset int          `json:"offset" doc:"Offset of the first event returned."`
	Limit  int          `json:"limit" doc:"Most events returned."`
}

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

// LogLevelBody is the body of PUT /admin/log-level and the answer of both log-level routes.
type LogLevelBody struct {
	Level string `json:"level" enum:"DEBUG,INFO,WARN,ERROR" doc:"The minimum level logged." example:"INFO"`
}
