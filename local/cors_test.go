package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// TestShimAnswersPreflightOnEveryRoute sends a CORS preflight for every route
// every function registers (method patterns included, which the mux alone
// answers 405): a trusted origin is granted with credentials, an untrusted
// one gets no Access-Control-* header.
func TestShimAnswersPreflightOnEveryRoute(t *testing.T) {
	cfg := testenv.Config(t)
	cfg.BaseURL = "http://localhost:3501"
	cfg.TrustedOrigins = []string{"http://localhost:5173"}
	p, err := platform.FromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	h, err := shim(p)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range functions {
		for _, pattern := range f.Build(p).Patterns() {
			method, path := httpx.SplitPattern(pattern)
			if method == "" {
				method = http.MethodPost
			}
			if method == http.MethodGet || method == http.MethodHead {
				continue // simple requests: browsers send no preflight
			}
			url := concretePath(path)
			for origin, trusted := range map[string]bool{"http://localhost:5173": true, "http://localhost:6666": false} {
				r := httptest.NewRequest(http.MethodOptions, url, nil)
				r.Header.Set("Origin", origin)
				r.Header.Set("Access-Control-Request-Method", method)
				r.Header.Set("Access-Control-Request-Headers", "content-type")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusNoContent {
					t.Errorf("%s (%s) preflight from %s: status %d %s", url, pattern, origin, rec.Code, rec.Body)
					continue
				}
				allow := rec.Header().Get("Access-Control-Allow-Origin")
				creds := rec.Header().Get("Access-Control-Allow-Credentials")
				methods := rec.Header().Get("Access-Control-Allow-Methods")
				if trusted && (allow != origin || creds != "true" || !strings.EqualFold(methods, method)) {
					t.Errorf("%s (%s) trusted preflight: Allow-Origin %q, Allow-Credentials %q, Allow-Methods %q",
						url, pattern, allow, creds, methods)
				}
				if !trusted && (allow != "" || creds != "" || methods != "") {
					t.Errorf("%s (%s) untrusted preflight granted: %v", url, pattern, rec.Header())
				}
			}
			n++
		}
	}
	if n < 10 {
		t.Fatalf("only %d routes with preflights checked", n)
	}
	// An OPTIONS that is no preflight still gets the router's JSON 405.
	r := httptest.NewRequest(http.MethodOptions, "/api/agents", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusMethodNotAllowed || !strings.Contains(rec.Body.String(), `"method_not_allowed"`) {
		t.Fatalf("plain OPTIONS: %d %s", rec.Code, rec.Body)
	}
}

// concretePath fills a pattern's wildcards with plausible values.
func concretePath(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "x1"
		}
	}
	return strings.Join(segs, "/")
}
