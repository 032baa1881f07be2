package auth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The worked example from FACTS.md §3, checked there with openssl and
// against a running Better Auth.
const (
	katToken  = "abcdefghijklmnopqrstuvwxyz012345"
	katSecret = "interop-test-secret-0123456789abcdefghijklmnop"
	katSig    = "FyoER0WaFz0iSXJ1lDZ8mWiHWcE99jg6a1nMnjFpmXQ="
	katCookie = "abcdefghijklmnopqrstuvwxyz012345.FyoER0WaFz0iSXJ1lDZ8mWiHWcE99jg6a1nMnjFpmXQ%3D"
)

func TestSignCookieValueKnownAnswer(t *testing.T) {
	if got := SignValue(katToken, katSecret); got != katToken+"."+katSig {
		t.Errorf("SignValue = %q", got)
	}
	if got := SignCookieValue(katToken, katSecret); got != katCookie {
		t.Errorf("SignCookieValue = %q, want %q", got, katCookie)
	}
	// A signature with "+" and "/" must be escaped as encodeURIComponent
	// does.
	tok := tokenWithSlashAndPlus(t)
	sig := SignValue(tok, katSecret)[33:]
	want := tok + "." + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(sig)
	if got := SignCookieValue(tok, katSecret); got != want {
		t.Fatalf("SignCookieValue(%q) = %q, want %q", tok, got, want)
	}
	// "+" survives decoding as "+" (decodeURIComponent, not form decoding).
	if got, ok := VerifySignedValue(want, katSecret); !ok || got != tok {
		t.Fatalf("VerifySignedValue(%q) = %q, %v", want, got, ok)
	}
	if got, ok := VerifySignedValue(tok+"."+sig, katSecret); !ok || got != tok {
		t.Fatalf("raw VerifySignedValue(%q) = %q, %v", tok+"."+sig, got, ok)
	}
	// base64url is not what Better Auth writes or accepts.
	url := tok + "." + strings.NewReplacer("+", "-", "/", "_").Replace(sig)
	if _, ok := VerifySignedValue(url, katSecret); ok {
		t.Fatalf("base64url signature %q accepted", url)
	}
}

// tokenWithSlashAndPlus finds a token whose signature under katSecret holds
// both "+" and "/" (about half of all tokens do).
func tokenWithSlashAndPlus(t *testing.T) string {
	t.Helper()
	for range 1000 {
		tok := GenerateID(32)
		sig := SignValue(tok, katSecret)[33:]
		if strings.Contains(sig, "+") && strings.Contains(sig, "/") {
			return tok
		}
	}
	t.Fatal("no token with + and / in its signature in 1000 tries")
	return ""
}

func TestSessionSetCookieKnownAnswer(t *testing.T) {
	c := NewCookies("http://127.0.0.1:3501")
	ck := c.Session(katToken, katSecret, 7*24*time.Hour)
	// Better Auth writes the attributes as Max-Age; Path; HttpOnly; SameSite
	// (FACTS.md §3); net/http orders them differently, which browsers and
	// cookie jars ignore. Compare the attribute set.
	want := "better-auth.session_token=" + katCookie + "; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"
	if !sameCookie(ck.String(), want) {
		t.Errorf("Set-Cookie\n got %s\nwant %s", ck.String(), want)
	}

	sc := NewCookies("https://ari.example")
	got := sc.Session(katToken, katSecret, 7*24*time.Hour).String()
	want = "__Secure-better-auth.session_token=" + katCookie + "; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax"
	if !sameCookie(got, want) {
		t.Errorf("secure Set-Cookie\n got %s\nwant %s", got, want)
	}
}

func TestRememberMeFalseCookies(t *testing.T) {
	c := NewCookies("http://localhost:3501")
	got := c.Session(katToken, katSecret, 0).String()
	if strings.Contains(got, "Max-Age") || strings.Contains(got, "Expires") {
		t.Errorf("rememberMe:false session cookie must be a browser-session cookie: %s", got)
	}
	dr := c.DontRemember(katSecret)
	if dr.Name != "better-auth.dont_remember" || strings.Contains(dr.String(), "Max-Age") {
		t.Errorf("dont_remember cookie = %s", dr.String())
	}
	if v, ok := VerifySignedValue(dr.Value, katSecret); !ok || v != "true" {
		t.Errorf("dont_remember value %q verifies as %q, %v", dr.Value, v, ok)
	}
}

func TestExpireSession(t *testing.T) {
	for _, base := range []string{"http://localhost:3501", "https://ari.example"} {
		c := NewCookies(base)
		cks := c.ExpireSession()
		var names []string
		for _, ck := range cks {
			names = append(names, ck.Name)
			s := ck.String()
			for _, attr := range []string{"Max-Age=0", "Path=/", "HttpOnly", "SameSite=Lax"} {
				if !strings.Contains(s, attr) {
					t.Errorf("%s: expiring cookie %s lacks %s", base, s, attr)
				}
			}
			if strings.Contains(s, "Secure") != c.Secure || ck.Value != "" {
				t.Errorf("%s: expiring cookie %s", base, s)
			}
		}
		p := ""
		if c.Secure {
			p = "__Secure-"
		}
		want := p + "better-auth.session_token," + p + "better-auth.session_data," + p + "better-auth.dont_remember"
		if strings.Join(names, ",") != want {
			t.Errorf("%s: expired %v, want %s", base, names, want)
		}
	}
}

func TestVerifySignedValue(t *testing.T) {
	raw := katToken + "." + katSig
	cases := []struct {
		name, value string
		ok          bool
	}{
		{"encoded", katCookie, true},
		{"raw", raw, true},
		{"fully encoded", strings.ReplaceAll(katCookie, ".", "%2E"), true},
		{"tampered signature", katToken + ".GyoER0WaFz0iSXJ1lDZ8mWiHWcE99jg6a1nMnjFpmXQ=", false},
		{"tampered token", "abcdefghijklmnopqrstuvwxyz012346." + katSig, false},
		{"signature 43 chars", katToken + "." + katSig[1:], false},
		{"signature 45 chars", katToken + ".A" + katSig, false},
		{"signature not ending in =", katToken + "." + katSig[:43] + "A", false},
		{"no dot", katToken, false},
		{"empty token", "." + katSig, false},
		{"empty", "", false},
	}
	for _, tc := range cases {
		got, ok := VerifySignedValue(tc.value, katSecret)
		if ok != tc.ok || (ok && got != katToken) {
			t.Errorf("%s: VerifySignedValue(%q) = %q, %v; want ok=%v", tc.name, tc.value, got, ok, tc.ok)
		}
	}
	if _, ok := VerifySignedValue(katCookie, katSecret+"x"); ok {
		t.Error("a cookie verified under another secret")
	}
	// The value is split at the last dot, so a signed value may hold dots.
	dotted := SignCookieValue("a.b.c", katSecret)
	if got, ok := VerifySignedValue(dotted, katSecret); !ok || got != "a.b.c" {
		t.Errorf("dotted value = %q, %v", got, ok)
	}
}

func TestReadSignedCookieFromRequest(t *testing.T) {
	c := NewCookies("http://localhost:3501")
	r := httptest.NewRequest(http.MethodGet, "/api/auth/get-session", nil)
	// The first cookie with the name wins, as in better-call.
	r.Header.Set("Cookie", "other=1; better-auth.session_token="+katCookie+"; better-auth.session_token=zzz."+katSig)
	if tok, ok := c.SessionTokenFrom(r, katSecret); !ok || tok != katToken {
		t.Errorf("SessionTokenFrom = %q, %v", tok, ok)
	}
	// A secure deployment reads only the __Secure- name.
	sc := NewCookies("https://ari.example")
	if _, ok := sc.SessionTokenFrom(r, katSecret); ok {
		t.Error("secure deployment accepted the unprefixed cookie")
	}
	r.Header.Set("Cookie", `__Secure-better-auth.session_token="`+katToken+"."+katSig+`"`)
	if tok, ok := sc.SessionTokenFrom(r, katSecret); !ok || tok != katToken {
		t.Errorf("quoted raw secure cookie = %q, %v", tok, ok)
	}
}

// sameCookie compares two Set-Cookie lines as name=value plus a set of
// attributes, ignoring attribute order.
func sameCookie(a, b string) bool {
	pa, pb := strings.Split(a, "; "), strings.Split(b, "; ")
	if len(pa) != len(pb) || pa[0] != pb[0] {
		return false
	}
	set := make(map[string]int)
	for _, x := range pa[1:] {
		set[x]++
	}
	for _, x := range pb[1:] {
		set[x]--
	}
	for _, n := range set {
		if n != 0 {
			return false
		}
	}
	return true
}
