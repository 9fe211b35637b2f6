package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
)

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	ErrorCode  string         `json:"error_code" doc:"Machine-readable error class." example:"VALIDATION_ERROR"`
	Message    string         `json:"message" doc:"Human-readable summary." example:"2 fields are invalid"`
	Details    []fraud.Detail `json:"details" doc:"What exactly is wrong: one object per bad field ({field, problem, value}), or limits ({limit, received}). Always a list, possibly empty."`
	RequestID  string         `json:"request_id" doc:"Identifier of the request, also in the X-Request-ID header and the log." example:"3f2b9c1e8a7d4e6f"`
	Timestamp  string         `json:"timestamp" format:"date-time" doc:"When the error was produced (RFC 3339)." example:"2026-11-26T07:00:00Z"`
	TraceID    string         `json:"trace_id,omitempty" doc:"The W3C trace id of the request, when the caller sent a traceparent or tracing is on." example:"4bf92f3577b34da6a3ce929d0e0e4736"`
	RetryAfter *int           `json:"retry_after,omitempty" doc:"Seconds to wait before retrying; present only when a retry can succeed later." example:"30"`
}

// StatusCode is the one map from error codes to HTTP statuses.
func StatusCode(code fraud.Code) int {
	switch code {
	case fraud.CodeValidation, fraud.CodeMalformedJSON, fraud.CodeInvalidHost:
		return http.StatusBadRequest
	case fraud.CodeUnauthorized:
		return http.StatusUnauthorized
	case fraud.CodeForbidden, fraud.CodeSuspiciousRequest, fraud.CodeIPBlocked, fraud.CodeHTTPSRequired:
		return http.StatusForbidden
	case fraud.CodeNotFound, fraud.CodeJobNotFound:
		return http.StatusNotFound
	case fraud.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case fraud.CodeRequestTimeout:
		return http.StatusRequestTimeout
	case fraud.CodeConflict:
		return http.StatusConflict
	case fraud.CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case fraud.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case fraud.CodeUnprocessableEntity:
		return http.StatusUnprocessableEntity
	case fraud.CodeRateLimited:
		return http.StatusTooManyRequests
	case fraud.CodeModelNotLoaded, fraud.CodeServiceUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// setErrorHeaders sets the response headers HTTP requires with some statuses: the challenge
// of a 401 (RFC 9110 §11.6.1) and, with a 405, the Allow header listing the methods the route
// serves, read from the error's {"allowed": [...]} detail so that the two never disagree.
func setErrorHeaders(h http.Header, fe *fraud.Error) {
	switch fe.Code {
	case fraud.CodeUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="fraudguard"`)
	case fraud.CodeMethodNotAllowed:
		for _, d := range fe.Details {
			if allowed, ok := d["allowed"].([]string); ok {
				h.Set("Allow", strings.Join(allowed, ", "))
			}
		}
	}
}

// errorWriter writes error bodies and logs what a client must not see.
type errorWriter struct {
	logger *slog.Logger
	now    func() time.Time
}

// write answers err in the structured error shape. An error that is not a *fraud.Error is an
// internal error: the client learns only the request id, the log gets the whole error.
func (ew errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	var fe *fraud.Error
	if !errors.As(err, &fe) || StatusCode(fe.Code) == http.StatusInternalServerError {
		ew.logger.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("component", "api"),
			slog.String("request_id", requestID(w)),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("error", err.Error()))
		fe = &fraud.Error{Code: fraud.CodeInternal, Message: "internal error; quote the request_id when reporting it"}
	}
	body := ErrorResponse{
		ErrorCode: string(fe.Code),
		Message:   fe.Message,
		Details:   fe.Details,
		RequestID: requestID(w),
		TraceID:   stateOf(w).traceID,
		Timestamp: ew.now().UTC().Format(time.RFC3339),
	}
	if body.Details == nil {
		body.Details = []fraud.Detail{}
	}
	h := w.Header()
	setErrorHeaders(h, fe)
	if fe.RetryAfter > 0 {
		body.RetryAfter = &fe.RetryAfter
		h.Set("Retry-After", strconv.Itoa(fe.RetryAfter))
	}
	writeJSON(w, StatusCode(fe.Code), body)
}
