package wire

// Detail is one entry of an error's details: a bad field ({field, problem, value}), a limit
// ({limit, received}) or anything else a client can act on. It is always a JSON object.
type Detail map[string]any

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	ErrorCode  string   `json:"error_code" doc:"Machine-readable error class." example:"VALIDATION_ERROR"`
	Message    string   `json:"message" doc:"Human-readable summary." example:"2 fields are invalid"`
	Details    []Detail `json:"details" doc:"What exactly is wrong: one object per bad field ({field, problem, value}), or limits ({limit, received}). Always a list, possibly empty."`
	RequestID  string   `json:"request_id" doc:"Identifier of the request, also in the X-Request-ID header and the log." example:"3f2b9c1e8a7d4e6f"`
	Timestamp  string   `json:"timestamp" format:"date-time" doc:"When the error was produced (RFC 3339)." example:"2026-11-26T07:00:00Z"`
	TraceID    string   `json:"trace_id,omitempty" doc:"The W3C trace id of the request, when the caller sent a traceparent or tracing is on." example:"4bf92f3577b34da6a3ce929d0e0e4736"`
	RetryAfter *int     `json:"retry_after,omitempty" doc:"Seconds to wait before retrying; present only when a retry can succeed later." example:"30"`
}
