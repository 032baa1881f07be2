package a2a

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrForeignRPCOrigin means the agent card puts a JSON-RPC URL on another
// origin than the endpoint the owner registered, while the owner set an
// auth header: the header is only ever sent to the endpoint's origin, so the
// card is refused rather than handing the credential to a host the owner
// never named (or calling without it, which would fail less clearly).
var ErrForeignRPCOrigin = errors.New("a2a: agent card names an RPC URL on another origin than the endpoint")

// origin is scheme://host:port with the scheme's default port filled in and
// the host lowercased, so "https://A.example" and "https://a.example:443"
// are one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// checkRouteOrigins refuses a route whose RPC URLs leave the endpoint's
// origin when the agent has an auth header.
func checkRouteOrigins(a Agent, endpoint *url.URL, r route) error {
	if name, _ := parseAuthHeader(a.AuthHeader); name == "" {
		return nil
	}
	want := origin(endpoint)
	for _, raw := range append([]string{r.primary}, mapValues(r.urls)...) {
		u, err := url.Parse(raw)
		if err != nil || origin(u) != want {
			return fmt.Errorf("%w: %s is not on %s", ErrForeignRPCOrigin, raw, want)
		}
	}
	return nil
}

func mapValues(m map[Dialect]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// authHeaderName carries, in a request's context, the name of the header
// withAuth set, so a redirect can drop it.
type authHeaderName struct{}

// withAuth applies the agent row's auth header (see the package doc) and
// remembers its name for keepAuthOnOrigin.
func withAuth(req *http.Request, raw string) *http.Request {
	name, value := parseAuthHeader(raw)
	if name == "" {
		return req
	}
	req = req.WithContext(context.WithValue(req.Context(), authHeaderName{}, name))
	req.Header.Set(name, value)
	return req
}

// maxRedirects is net/http's own default limit.
const maxRedirects = 10

// keepAuthOnOrigin wraps a CheckRedirect: a redirect that leaves the first
// request's origin loses the owner's auth header (whatever its name; net/http
// itself drops only Authorization and Cookie, and keeps them for
// subdomains and other ports of the same host).
func keepAuthOnOrigin(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		if name, ok := req.Context().Value(authHeaderName{}).(string); ok && origin(req.URL) != origin(via[0].URL) {
			req.Header.Del(name)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("a2a: stopped after %d redirects", maxRedirects)
		}
		return nil
	}
}
