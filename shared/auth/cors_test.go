package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCORSHeaders asserts the Access-Control-* headers a browser acts on, for
// a preflight and an actual request, from trusted (exact and pattern) and
// untrusted origins.
func TestCORSHeaders(t *testing.T) {
	o := NewOrigins("https://api.ari.example", []string{"https://app.ari.example", "https://*.preview.ari.example"})
	reached := 0
	h := o.CORS()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached++
		w.Header().Set("X-Request-Id", "r1")
		w.WriteHeader(http.StatusCreated)
	}))
	preflight := func(origin, method, headers string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodOptions, "/api/agents", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		if !IsPreflight(r) {
			t.Fatal("IsPreflight false for a preflight")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}

	for _, origin := range []string{"https://app.ari.example", "https://pr-7.preview.ari.example"} {
		rec := preflight(origin, "POST", "authorization,content-type")
		hd := rec.Header()
		if rec.Code != http.StatusNoContent {
			t.Errorf("%s preflight: status %d", origin, rec.Code)
		}
		want := map[string]string{
			"Access-Control-Allow-Origin":      origin,
			"Access-Control-Allow-Credentials": "true",
			"Access-Control-Allow-Methods":     "POST",
			"Access-Control-Allow-Headers":     "authorization,content-type",
			"Access-Control-Max-Age":           "600",
		}
		for k, v := range want {
			if got := hd.Get(k); !strings.EqualFold(got, v) {
				t.Errorf("%s preflight %s = %q, want %q", origin, k, got, v)
			}
		}
		if !strings.Contains(strings.Join(hd.Values("Vary"), ","), "Origin") {
			t.Errorf("%s preflight: Vary %q lacks Origin", origin, hd.Values("Vary"))
		}
	}
	if reached != 0 {
		t.Fatalf("a preflight reached the handler %d times", reached)
	}

	// A header outside the allowed list is not granted.
	if rec := preflight("https://app.ari.example", "POST", "x-evil"); rec.Header().Get("Access-Control-Allow-Headers") != "" {
		t.Errorf("x-evil allowed: %q", rec.Header().Get("Access-Control-Allow-Headers"))
	}
	// Untrusted origins get no Access-Control-* header at all.
	for _, origin := range []string{"https://evil.example", "https://app.ari.example.evil.example", "null"} {
		rec := preflight(origin, "POST", "content-type")
		for k := range rec.Header() {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("untrusted %s preflight got %s: %q", origin, k, rec.Header().Get(k))
			}
		}
	}

	// Actual request: allowed origin and credentials, exposed headers.
	r := httptest.NewRequest(http.MethodPost, "/api/agents", nil)
	r.Header.Set("Origin", "https://app.ari.example")
	if IsPreflight(r) {
		t.Fatal("IsPreflight true for a POST")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusCreated || reached != 1 {
		t.Fatalf("actual request: status %d, reached %d", rec.Code, reached)
	}
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://app.ari.example" {
		t.Errorf("actual Allow-Origin %q", got)
	}
	if got := rec.Header().Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("actual Allow-Credentials %q", got)
	}
	if got := rec.Header().Get("Access-Control-Expose-Headers"); !strings.EqualFold(got, strings.Join(CORSExposedHeaders, ", ")) {
		t.Errorf("actual Expose-Headers %q, want %v", got, CORSExposedHeaders)
	}
	r = httptest.NewRequest(http.MethodPost, "/api/agents", nil)
	r.Header.Set("Origin", "https://evil.example")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("untrusted actual request got Allow-Origin %q", got)
	}
	// An OPTIONS without Access-Control-Request-Method is no preflight.
	plain := httptest.NewRequest(http.MethodOptions, "/api/agents", nil)
	plain.Header.Set("Origin", "https://app.ari.example")
	if IsPreflight(plain) {
		t.Error("IsPreflight true without Access-Control-Request-Method")
	}
}
