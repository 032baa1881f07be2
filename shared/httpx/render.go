// Package httpx is the HTTP plumbing every function shares: the handler adapter,
// JSON decoding and encoding, the one error renderer, and middleware.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/logging"
)

// HandlerFunc is an HTTP handler that returns its error for Handle to render.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle adapts h into an http.Handler whose errors go through the one
// renderer. The request's path values and query pass CheckRequest first.
func Handle(h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := CheckRequest(r); e != nil {
			WriteError(w, r, e)
			return
		}
		if err := h(w, r); err != nil {
			WriteError(w, r, err)
		}
	})
}

// Status maps an error code to its HTTP status.
func Status(code ari.Code) int {
	switch code {
	case ari.CodeInvalid:
		return http.StatusBadRequest
	case ari.CodeUnauthorized:
		return http.StatusUnauthorized
	case ari.CodeForbidden:
		return http.StatusForbidden
	case ari.CodeNotFound:
		return http.StatusNotFound
	case ari.CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case ari.CodeConflict:
		return http.StatusConflict
	case ari.CodeTooLarge:
		return http.StatusRequestEntityTooLarge
	case ari.CodeUnsupportedMedia:
		return http.StatusUnsupportedMediaType
	case ari.CodeRateLimited:
		return http.StatusTooManyRequests
	case ari.CodeNotImplemented:
		return http.StatusNotImplemented
	case ari.CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    ari.Code          `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// WriteError renders err as {"error":{"code","message"}}. Internal errors are
// logged with the request id and shown to the client only as "internal error".
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *ari.Error
	if !errors.As(err, &e) {
		e = &ari.Error{Code: ari.CodeInternal, Message: "internal error", Err: err}
	}
	status := Status(e.Code)
	if e.Status != 0 {
		status = e.Status
	}
	// 501 is an answer (the sandbox is off), not a failure: logging it would
	// let any client write error lines of its choosing (paths of any length).
	if status >= 500 && status != http.StatusNotImplemented {
		slog.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	msg := e.Message
	if e.Code == ari.CodeInternal {
		msg = "internal error"
	}
	errorHeaders(w)
	_ = JSON(w, status, errorBody{Error: errorDetail{Code: e.Code, Message: msg, Fields: e.Fields}})
}

// WriteBetterAuthError writes the other wire shape, Better Auth's
// {"message","code"}, which every answer under /api/auth uses so Better
// Auth's own client reads our errors unchanged. retryAfter > 0 (seconds) adds
// Retry-After and Better Auth's X-Retry-After. Like Better Auth (JavaScript's
// JSON.stringify), it does not escape <, > and & in the text.
func WriteBetterAuthError(w http.ResponseWriter, status int, code, message string, retryAfter int) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		w.Header().Set("X-Retry-After", strconv.Itoa(retryAfter))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}{message, code}) // two strings always encode
	errorHeaders(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// errorHeaders are on every error answer: never sniffed, never cached.
func errorHeaders(w http.ResponseWriter) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
}

// JSON encodes v into a buffer first, so an encoding failure can still become a
// clean 500 rather than a half-written body.
func JSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// RequestIDFrom returns the request id of r's context.
func RequestIDFrom(r *http.Request) string { return logging.RequestID(r.Context()) }
