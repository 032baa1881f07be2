package httpx

import (
	"net/http"
	"slices"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Router is a stdlib ServeMux that remembers the patterns it serves, so the
// local shim can mount them and tests can compare them with template.yaml.
// Unmatched requests get the JSON error shape, not the mux's plain text.
//
// Every function registers its routes the same way: HandleFunc for an
// error-returning handler (errors go through the one renderer), on the
// router itself for public routes or on r.With(d.Auth.Require) for routes
// that need a caller.
type Router struct {
	*routes
	mw []func(http.Handler) http.Handler
}

// routes is what a Router and every view made by With share.
type routes struct {
	mux      *http.ServeMux
	patterns []string
}

// NewRouter returns an empty Router.
func NewRouter() *Router { return &Router{routes: &routes{mux: http.NewServeMux()}} }

// With returns a view of rt that registers into the same mux with mw wrapped
// around each handler (the first outermost), after rt's own middleware.
func (rt *Router) With(mw ...func(http.Handler) http.Handler) *Router {
	return &Router{routes: rt.routes, mw: append(slices.Clip(rt.mw), mw...)}
}

// Handle registers h for a stdlib pattern such as "GET /api/agents/{id}".
func (rt *Router) Handle(pattern string, h http.Handler) {
	for i := len(rt.mw) - 1; i >= 0; i-- {
		h = rt.mw[i](h)
	}
	rt.mux.Handle(pattern, h)
	rt.patterns = append(rt.patterns, pattern)
}

// HandleFunc registers an error-returning handler.
func (rt *Router) HandleFunc(pattern string, h HandlerFunc) { rt.Handle(pattern, Handle(h)) }

// Patterns lists the registered patterns, sorted.
func (rt *Router) Patterns() []string {
	p := slices.Clone(rt.patterns)
	slices.Sort(p)
	return p
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := rt.mux.Handler(r)
	if pattern != "" {
		setRoute(w, pattern)
		rt.mux.ServeHTTP(w, r)
		return
	}
	// No pattern matched: the mux would answer 404 or 405 in plain text. Find
	// which, keeping its Allow header, and answer in the JSON shape instead.
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		if allow := probe.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteError(w, r, ari.Errorf(ari.CodeMethodNotAllowed, "method %s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	WriteError(w, r, ari.Errorf(ari.CodeNotFound, "no route for %s %s", r.Method, r.URL.Path))
}

type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(s int)           { p.status = s }

// SplitPattern returns the method and path of a pattern like "GET /x/{id}".
func SplitPattern(p string) (method, path string) {
	if m, rest, ok := strings.Cut(p, " "); ok {
		return m, strings.TrimSpace(rest)
	}
	return "", p
}
