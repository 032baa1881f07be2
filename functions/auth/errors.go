package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
)

// apiError is an answer in Better Auth's error shape, {"message","code"},
// which everything under /api/auth uses so Better Auth's own client library
// reads our errors unchanged.
type apiError struct {
	Status     int
	Code       string
	Message    string
	RetryAfter int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func baErr(status int, code, message string) *apiError {
	return &apiError{Status: status, Code: code, Message: message}
}

// Better Auth's error codes and messages (@better-auth/core error/codes.mjs)
// for the answers this function gives.
var (
	errInvalidEmailOrPassword = baErr(401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password")
	errInvalidEmail           = baErr(400, "INVALID_EMAIL", "Invalid email")
	errPasswordTooShort       = baErr(400, "PASSWORD_TOO_SHORT", "Password too short")
	errPasswordTooLong        = baErr(400, "PASSWORD_TOO_LONG", "Password too long")
	errUserExists             = baErr(422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.")
	errUnauthorized           = baErr(401, "UNAUTHORIZED", "Unauthorized")
	errEmailNotVerified       = baErr(403, "EMAIL_NOT_VERIFIED", "Email not verified")
	errInvalidPassword        = baErr(400, "INVALID_PASSWORD", "Invalid password")
	errNoCredentialAccount    = baErr(400, "CREDENTIAL_ACCOUNT_NOT_FOUND", "Credential account not found")
	errProviderNotFound       = baErr(404, "PROVIDER_NOT_FOUND", "Provider not found")
	errInvalidCallbackURL     = baErr(403, "INVALID_CALLBACK_URL", "Invalid callbackURL")
	errInvalidErrorCallback   = baErr(403, "INVALID_ERROR_CALLBACK_URL", "Invalid errorCallbackURL")
	errInvalidNewUserCallback = baErr(403, "INVALID_NEW_USER_CALLBACK_URL", "Invalid newUserCallbackURL")
	errIDTokenNotSupported    = baErr(400, "ID_TOKEN_NOT_SUPPORTED", "id_token not supported")
	errInvalidJSON            = baErr(400, "BAD_REQUEST", "Invalid JSON in request body")
	errBodyTooLarge           = baErr(413, "PAYLOAD_TOO_LARGE", "Request body is too large")
	errBodyNotObject          = baErr(400, "BODY_MUST_BE_AN_OBJECT", "Body must be an object")
)

// tooManyRequests is Better Auth's rate-limit answer; the code is ours (Better
// Auth sends only the message), so clients have a stable value to test.
func tooManyRequests(retryAfter int) *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Code: "TOO_MANY_REQUESTS",
		Message: "Too many requests. Please try again later.", RetryAfter: retryAfter}
}

func validationError(message string) *apiError {
	return baErr(400, "VALIDATION_ERROR", message)
}

// handlerFunc is an endpoint that returns its error for render.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// render writes err in Better Auth's shape. Anything that is not an
// *apiError is internal: logged with the request id, shown as a bare 500.
func render(w http.ResponseWriter, r *http.Request, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		slog.ErrorContext(r.Context(), "auth request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = baErr(500, "INTERNAL_SERVER_ERROR", "Internal Server Error")
	}
	httpx.WriteBetterAuthError(w, e.Status, e.Code, e.Message, e.RetryAfter)
}

// writeJSON encodes into a buffer before writing the status, so an encoding
// failure never leaves a half-written body.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// requestProblem is httpx.CheckRequest's answer (a path value or query
// parameter that is not text) in Better Auth's validation shape.
func requestProblem(r *http.Request, e *ari.Error) *apiError {
	if len(e.Fields) == 0 {
		return baErr(httpx.Status(e.Code), "NOT_FOUND", e.Message)
	}
	issues := make([]string, 0, len(e.Fields))
	for k, v := range e.Fields {
		where := "query."
		if slices.Contains(httpx.Wildcards(r.Pattern), k) {
			where = "params."
		}
		issues = append(issues, "["+where+k+"] "+v)
	}
	slices.Sort(issues)
	return validationError(strings.Join(issues, "; "))
}
