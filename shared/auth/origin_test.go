package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestOriginsTrusted(t *testing.T) {
	o := NewOrigins("https://api.ari.example/base", []string{" https://app.ari.example/ ", "https://*.preview.ari.example", "myapp://", "http://localhost:30??"})
	cases := map[string]bool{
		"https://api.ari.example":           true,
		"https://API.ari.example":           true,
		"https://app.ari.example":           true,
		"https://app.ari.example/some/path": true,
		"https://pr-1.preview.ari.example":  true,
		"https://a.b.preview.ari.example":   true,
		"http://localhost:3000":             true,
		"http://localhost:4000":             false,
		"https://preview.ari.example":       false,
		"https://evil.example":              false,
		"http://api.ari.example":            false,
		"https://api.ari.example:8443":      false,
		"null":                              false,
		"":                                  false,
		"https://evilpreview.ari.example":   false,
	}
	for origin, want := range cases {
		if got := o.Trusted(origin); got != want {
			t.Errorf("Trusted(%q) = %v, want %v", origin, got, want)
		}
	}
}

func TestSafeRedirect(t *testing.T) {
	o := NewOrigins("http://localhost:3501", []string{"https://app.ari.example"})
	for target, want := range map[string]bool{
		"/":                                true,
		"/after-login?x=1":                 true,
		"https://app.ari.example/welcome":  true,
		"http://localhost:3501/x":          true,
		"//evil.example/x":                 false,
		"/\\evil.example":                  false,
		"https://evil.example/":            false,
		"https://app.ari.example@evil.com": false,
		"javascript:alert(1)":              false,
		"relative/path":                    false,
		"/line\nbreak":                     false,
		"":                                 false,
	} {
		if got := o.SafeRedirect(target); got != want {
			t.Errorf("SafeRedirect(%q) = %v, want %v", target, got, want)
		}
	}
}

func TestCheckRequest(t *testing.T) {
	o := NewOrigins("http://localhost:3501", nil)
	req := func(method string, h map[string]string) *http.Request {
		r := httptest.NewRequest(method, "/api/auth/sign-out", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		return r
	}
	ck := "better-auth.session_token=x"
	cases := []struct {
		name string
		r    *http.Request
		want *OriginProblem
	}{
		{"GET with cookie", req("GET", map[string]string{"Cookie": ck}), nil},
		{"POST without cookie", req("POST", nil), nil},
		{"POST cookie no origin", req("POST", map[string]string{"Cookie": ck}), ErrMissingOrigin},
		{"POST cookie null origin", req("POST", map[string]string{"Cookie": ck, "Origin": "null"}), ErrMissingOrigin},
		{"POST cookie evil origin", req("POST", map[string]string{"Cookie": ck, "Origin": "http://evil.example"}), ErrInvalidOrigin},
		{"POST cookie good origin", req("POST", map[string]string{"Cookie": ck, "Origin": "http://localhost:3501"}), nil},
		{"POST cookie good referer", req("POST", map[string]string{"Cookie": ck, "Referer": "http://localhost:3501/page"}), nil},
		{"DELETE cookie evil referer", req("DELETE", map[string]string{"Cookie": ck, "Referer": "http://evil.example/"}), ErrInvalidOrigin},
	}
	for _, c := range cases {
		if got := o.CheckRequest(c.r); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	form := []struct {
		name string
		r    *http.Request
		want *OriginProblem
	}{
		{"curl", req("POST", nil), nil},
		{"cross-site navigation", req("POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}), ErrCrossSiteNav},
		{"fetch metadata without origin", req("POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}), ErrMissingOrigin},
		{"evil origin", req("POST", map[string]string{"Origin": "http://evil.example"}), ErrInvalidOrigin},
		{"good origin", req("POST", map[string]string{"Origin": "http://localhost:3501", "Sec-Fetch-Site": "same-origin"}), nil},
	}
	for _, c := range form {
		if got := o.CheckFormCSRF(c.r); got != c.want {
			t.Errorf("form %s: got %v, want %v", c.name, got, c.want)
		}
	}
}

func TestSessionPolicyRefresh(t *testing.T) {
	p := SessionPolicy{ExpiresIn: 30 * 24 * time.Hour, UpdateAge: 24 * time.Hour}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	// Created (or refreshed) just now: no refresh.
	if p.NeedsRefresh(now.Add(p.ExpiresIn), now) {
		t.Error("fresh session refreshed")
	}
	// Refreshed 23 hours ago: not yet.
	if p.NeedsRefresh(now.Add(p.ExpiresIn-23*time.Hour), now) {
		t.Error("refreshed before a day had passed")
	}
	// Exactly a day ago, or longer: refresh.
	if !p.NeedsRefresh(now.Add(p.ExpiresIn-24*time.Hour), now) || !p.NeedsRefresh(now.Add(time.Hour), now) {
		t.Error("not refreshed after a day")
	}
	if p.Lifetime(false) != 24*time.Hour || p.Lifetime(true) != p.ExpiresIn {
		t.Error("lifetimes")
	}
}

func TestSignedSessionToken(t *testing.T) {
	c := NewCookies("http://localhost:3501")
	const secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+GenerateID(32))
	if _, ok := SignedSessionToken(r, c, secret); ok {
		t.Error("a bare bearer token counted as signed")
	}
	tok := GenerateID(32)
	r.Header.Set("Authorization", "Bearer "+SignValue(tok, secret))
	if got, ok := SignedSessionToken(r, c, secret); !ok || got != tok {
		t.Errorf("signed bearer = %q, %v", got, ok)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.AddCookie(c.Session(tok, secret, time.Hour))
	if got, ok := SignedSessionToken(r, c, secret); !ok || got != tok {
		t.Errorf("cookie = %q, %v", got, ok)
	}
}
