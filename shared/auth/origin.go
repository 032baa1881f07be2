package auth

import (
	"net/http"
	"net/url"
	"path"
	"strings"
)

// Origins is the set of trusted origins, built as Better Auth builds it: the
// base URL's origin plus the configured BETTER_AUTH_TRUSTED_ORIGINS. An entry
// may hold "*" (any run of characters) and "?" (one character), as Better
// Auth's trustedOrigins patterns do; custom schemes ("myapp://") are
// compared as written.
type Origins struct {
	exact    map[string]bool
	patterns []string
}

// NewOrigins returns the trusted set for a deployment.
func NewOrigins(baseURL string, trusted []string) Origins {
	o := Origins{exact: map[string]bool{}}
	if b := OriginOf(baseURL); b != "" {
		o.exact[b] = true
	}
	for _, t := range trusted {
		t = strings.TrimRight(strings.TrimSpace(t), "/")
		if t == "" {
			continue
		}
		if strings.ContainsAny(t, "*?") {
			o.patterns = append(o.patterns, t)
			continue
		}
		if ot := OriginOf(t); ot != "" {
			o.exact[ot] = true
		} else {
			o.exact[t] = true
		}
	}
	return o
}

// List returns the exact origins and patterns, for CORS.
func (o Origins) List() []string {
	out := make([]string, 0, len(o.exact)+len(o.patterns))
	for k := range o.exact {
		out = append(out, k)
	}
	return append(out, o.patterns...)
}

// OriginOf returns scheme://host[:port] of an absolute URL, lowercased, or
// "" when u is not absolute.
func OriginOf(u string) string {
	p, err := url.Parse(strings.TrimSpace(u))
	if err != nil || p.Scheme == "" || p.Host == "" {
		return ""
	}
	return strings.ToLower(p.Scheme + "://" + p.Host)
}

// Trusted reports whether origin (a browser's Origin header value, or a
// full URL whose origin is meant) is trusted.
func (o Origins) Trusted(origin string) bool {
	if origin == "" || origin == "null" {
		return false
	}
	norm := OriginOf(origin)
	if norm == "" {
		norm = strings.ToLower(strings.TrimRight(origin, "/"))
	}
	if o.exact[norm] {
		return true
	}
	for _, p := range o.patterns {
		// path.Match's "*" stops at "/", which keeps "https://*.example.com"
		// from matching "https://evil.com/x.example.com".
		if ok, _ := path.Match(strings.ToLower(p), norm); ok {
			return true
		}
	}
	return false
}

// SafeRedirect reports whether target may be used as a redirect after
// sign-in: a relative path on this site ("/x", never "//x" or "/\x", which
// browsers read as another host) or an absolute URL on a trusted origin.
func (o Origins) SafeRedirect(target string) bool {
	if target == "" {
		return false
	}
	for _, r := range target {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	if strings.HasPrefix(target, "/") {
		return !strings.HasPrefix(target, "//")
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil {
		return false
	}
	return o.Trusted(target)
}

// OriginProblem is why a request failed the origin check; Code and Message
// are Better Auth's.
type OriginProblem struct {
	Code    string
	Message string
}

// Better Auth's origin check failures (FACTS.md §6).
var (
	ErrMissingOrigin = &OriginProblem{Code: "MISSING_OR_NULL_ORIGIN", Message: "Missing or null Origin"}
	ErrInvalidOrigin = &OriginProblem{Code: "INVALID_ORIGIN", Message: "Invalid origin"}
	ErrCrossSiteNav  = &OriginProblem{Code: "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED",
		Message: "Cross-site navigation login blocked. This request appears to be a CSRF attack."}
)

// CheckRequest applies Better Auth's origin check: GET, HEAD and OPTIONS
// pass; any other request carrying a Cookie header must name a trusted
// origin in Origin (else Referer). A request without cookies is not checked
// here (bearer clients cannot be driven cross-site); the sign-in and sign-up
// endpoints add CheckFormCSRF for that case.
func (o Origins) CheckRequest(r *http.Request) *OriginProblem {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	if r.Header.Get("Cookie") == "" {
		return nil
	}
	return o.checkOriginHeader(r)
}

// CheckFormCSRF is Better Auth's check for cookie-less sign-in and sign-up:
// a cross-site top-level navigation is refused outright; a request with
// fetch metadata or an Origin/Referer must come from a trusted origin; one
// with none of these (curl, a server) passes.
func (o Origins) CheckFormCSRF(r *http.Request) *OriginProblem {
	if r.Header.Get("Cookie") != "" {
		return o.CheckRequest(r)
	}
	site, mode := r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Sec-Fetch-Mode")
	if site == "cross-site" && mode == "navigate" {
		return ErrCrossSiteNav
	}
	if site != "" || mode != "" || r.Header.Get("Sec-Fetch-Dest") != "" ||
		r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
		return o.checkOriginHeader(r)
	}
	return nil
}

func (o Origins) checkOriginHeader(r *http.Request) *OriginProblem {
	origin := r.Header.Get("Origin")
	if origin == "" || origin == "null" {
		origin = OriginOf(r.Header.Get("Referer"))
	}
	if origin == "" || origin == "null" {
		return ErrMissingOrigin
	}
	if !o.Trusted(origin) {
		return ErrInvalidOrigin
	}
	return nil
}
