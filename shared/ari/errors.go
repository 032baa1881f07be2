// Package ari holds the domain's error codes and the Go types of its tables.
// It depends on the standard library only, so every other package can use it.
package ari

import (
	"errors"
	"fmt"
)

// Code is a stable, snake_case error code that clients may switch on.
type Code string

const (
	CodeInvalid          Code = "invalid_request"
	CodeUnauthorized     Code = "unauthorized"
	CodeForbidden        Code = "forbidden"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeConflict         Code = "conflict"
	CodeTooLarge         Code = "payload_too_large"
	CodeUnsupportedMedia Code = "unsupported_media_type"
	CodeRateLimited      Code = "rate_limited"
	CodeNotImplemented   Code = "not_implemented"
	CodeUnavailable      Code = "unavailable"
	CodeInternal         Code = "internal"
)

// Error is an error a client is allowed to see. Anything that is not an *Error
// is internal and is shown to clients only as "internal error".
type Error struct {
	Code    Code
	Message string
	// Fields names invalid input fields and what is wrong with each.
	Fields map[string]string
	// RetryAfter, in seconds, for rate limits and unavailability.
	RetryAfter int
	// Status, when set, is the HTTP status to answer with instead of the
	// one Code maps to: for codes only one server speaks (the local file
	// server's link_expired, upload_closed, ...).
	Status int
	// Err is the cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a client-visible error.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the one answer for both an unknown id and someone else's id.
func NotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

// Invalid reports bad input, field by field.
func Invalid(fields map[string]string) *Error {
	msg := "invalid request"
	if len(fields) == 1 {
		for k, v := range fields {
			msg = k + ": " + v
		}
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: fields}
}

// ErrorCode returns the code of err, or CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the client-visible message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
