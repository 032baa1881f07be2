package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func shimWith(t *testing.T, edit func(*config.Config)) http.Handler {
	t.Helper()
	cfg := testenv.Config(t)
	edit(&cfg)
	p, err := platform.FromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	h, err := shim(p)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(h http.Handler, target, bearer string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if bearer != "" {
		r.Header.Set("Authorization", "Bearer "+bearer)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// seriesValue reads one series' value from an exposition (0 if absent).
func seriesValue(t *testing.T, exposition, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("%q: %v", line, err)
			}
			return v
		}
	}
	return 0
}

// The shim serves /metrics, where each request a function answers is counted
// under its route pattern and status, never under its raw path.
func TestShimMetricsCountRequestsByRoute(t *testing.T) {
	h := shimWith(t, func(*config.Config) {})
	const (
		conv   = `ari_http_request_duration_seconds_count{route="GET /api/conversations/{id}",status="401"}`
		health = `ari_http_request_duration_seconds_count{route="GET /health",status="200"}`
	)
	before := get(h, "/metrics", "")
	if before.Code != http.StatusOK || !strings.Contains(before.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %d %s", before.Code, before.Header().Get("Content-Type"))
	}
	if rec := get(h, "/health", ""); rec.Code != http.StatusOK {
		t.Fatalf("health: %d %s", rec.Code, rec.Body)
	}
	if rec := get(h, "/api/conversations/some-id", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("conversation without a session: %d", rec.Code)
	}
	after := get(h, "/metrics", "").Body.String()
	for _, s := range []string{health, conv} {
		if d := seriesValue(t, after, s) - seriesValue(t, before.Body.String(), s); d != 1 {
			t.Errorf("%s moved by %v, want 1", s, d)
		}
	}
	if strings.Contains(after, "some-id") {
		t.Error("a raw path became a label")
	}
}

// With METRICS_TOKEN a scrape needs the bearer token; METRICS_ENABLED=false
// (and production without a token) serves no /metrics at all.
func TestShimMetricsGate(t *testing.T) {
	token := strings.Repeat("t", 40)
	h := shimWith(t, func(c *config.Config) { c.MetricsToken = token })
	if rec := get(h, "/metrics", ""); rec.Code != http.StatusUnauthorized {
		t.Fatalf("without the token: %d", rec.Code)
	}
	if rec := get(h, "/metrics", token); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("with the token: %d", rec.Code)
	}
	h = shimWith(t, func(c *config.Config) { c.MetricsEnabled = false })
	if rec := get(h, "/metrics", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("disabled: %d", rec.Code)
	}
	h = shimWith(t, func(c *config.Config) { c.Env = "production" })
	if rec := get(h, "/metrics", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("production without a token: %d", rec.Code)
	}
}
