package fraud

import (
	"errors"
	"fmt"

	"github.com/fraudguard/fraudguard/wire"
)

// Code is a machine-readable error class. How a code is answered (a status, headers) is up to
// the transport: the API maps each code in one place.
type Code string

// The error codes of fraudguard.
const (
	CodeValidation          Code = "VALIDATION_ERROR"
	CodeMalformedJSON       Code = "MALFORMED_JSON"
	CodePayloadTooLarge     Code = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia    Code = "UNSUPPORTED_MEDIA_TYPE"
	CodeNotFound            Code = "NOT_FOUND"
	CodeMethodNotAllowed    Code = "METHOD_NOT_ALLOWED"
	CodeInvalidHost         Code = "INVALID_HOST"
	CodeModelNotLoaded      Code = "MODEL_NOT_LOADED"
	CodeInternal            Code = "INTERNAL_ERROR"
	CodeUnauthorized        Code = "UNAUTHORIZED"
	CodeForbidden           Code = "FORBIDDEN"
	CodeRateLimited         Code = "RATE_LIMITED"
	CodeServiceUnavailable  Code = "SERVICE_UNAVAILABLE"
	CodeRequestTimeout      Code = "REQUEST_TIMEOUT"
	CodeSuspiciousRequest   Code = "SUSPICIOUS_REQUEST"
	CodeIPBlocked           Code = "IP_BLOCKED"
	CodeJobNotFound         Code = "JOB_NOT_FOUND"
	CodeConflict            Code = "CONFLICT"
	CodeUnprocessableEntity Code = "UNPROCESSABLE_ENTITY"
	CodeHTTPSRequired       Code = "HTTPS_REQUIRED"
	// CodeExplanationUnavailable is a request for an explanation that the live model cannot
	// give (a tree without node covers, or a member of a kind that cannot be explained).
	CodeExplanationUnavailable Code = "EXPLANATION_UNAVAILABLE"
)

// Codes lists every error code, in a stable order.
func Codes() []Code {
	return []Code{
		CodeValidation, CodeMalformedJSON, CodePayloadTooLarge, CodeUnsupportedMedia, CodeNotFound,
		CodeMethodNotAllowed, CodeInvalidHost, CodeModelNotLoaded, CodeInternal, CodeUnauthorized,
		CodeForbidden, CodeRateLimited, CodeServiceUnavailable, CodeRequestTimeout,
		CodeSuspiciousRequest, CodeIPBlocked, CodeJobNotFound, CodeConflict, CodeUnprocessableEntity,
		CodeHTTPSRequired, CodeExplanationUnavailable,
	}
}

// Detail is one entry of an error's details: a bad field ({field, problem, value}), a limit
// ({limit, received}) or anything else a client can act on. It is the wire type.
type Detail = wire.Detail

// Error is a domain error that the API turns into its structured error body.
type Error struct {
	Code    Code
	Message string
	Details []Detail
	// RetryAfter is the number of seconds after which a retry may succeed; 0 means it is not
	// meaningful for this error and is left out of the body.
	RetryAfter int
}

func (e *Error) Error() string {
	if len(e.Details) == 0 {
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Details)
}

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or CodeInternal.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// FieldError is a Detail naming a bad field, what is wrong and the value sent.
func FieldError(field, problem string, value any) Detail {
	return Detail{"field": field, "problem": problem, "value": value}
}
