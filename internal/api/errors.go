package api

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/fraudguard/fraudguard/internal/fraud"
	"github.com/fraudguard/fraudguard/wire"
)

// StatusCode is the one map from error codes to HTTP statuses.
func StatusCode(code fraud.Code) int {
	switch code {
	case fraud.CodeValidation, fraud.CodeMalformedJSON, fraud.CodeInvalidHost, fraud.CodeExplanationUnavailable:
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
	body := wire.ErrorResponse{
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
