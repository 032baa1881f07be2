package auth

import (
	"net/http"
	"strings"

	"github.com/rs/cors"
)

// PreflightMaxAge is how long browsers may cache a CORS preflight answer.
// Chrome caps it at 2 hours; 10 minutes keeps a changed origin list from
// lingering long.
const PreflightMaxAge = 600

// What a cross-origin caller may use. The HTTP API's CorsConfiguration in
// template.yaml repeats these lists (a test keeps them equal), since API
// Gateway answers preflights itself and replaces the functions' CORS headers.
var (
	CORSMethods        = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}
	CORSHeaders        = []string{"Content-Type", "Authorization", "X-Request-Id"}
	CORSExposedHeaders = []string{"X-Request-Id", "Retry-After", "X-Retry-After", "Location", "Set-Auth-Token"}
)

// CORS returns rs/cors middleware that lets the trusted origins call the API
// with credentials (cookies), the set Better Auth trusts for its origin
// check, so one list governs both. It answers preflights itself (204, with
// the Access-Control-Allow-* headers only for a trusted origin) and never
// passes them on.
func (o Origins) CORS() func(http.Handler) http.Handler {
	c := cors.New(cors.Options{
		AllowOriginFunc:  o.Trusted,
		AllowedMethods:   CORSMethods,
		AllowedHeaders:   CORSHeaders,
		ExposedHeaders:   CORSExposedHeaders,
		AllowCredentials: true,
		MaxAge:           PreflightMaxAge,
	})
	return c.Handler
}

// IsPreflight reports whether r is a CORS preflight: an OPTIONS request with
// an Origin and the method the browser wants to use.
func IsPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// AuthPathPrefix is where Better Auth's endpoints live; answers there use
// Better Auth's error shape.
const AuthPathPrefix = "/api/auth/"

// IsAuthPath reports whether r is for a Better Auth endpoint.
func IsAuthPath(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, AuthPathPrefix) }

// SignedSessionToken returns the session token of r when it is carried in a
// form nobody can forge without the secret: the signed cookie or a signed
// bearer value. Rate limits key on it, so random bare tokens cannot buy a
// client fresh buckets.
func SignedSessionToken(r *http.Request, c Cookies, secret string) (string, bool) {
	if tok, ok := c.SessionTokenFrom(r, secret); ok {
		return tok, true
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") && strings.Contains(h, ".") {
		return VerifySignedValue(strings.TrimSpace(h[7:]), secret)
	}
	return "", false
}
