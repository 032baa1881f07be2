package betterauth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
)

// TestCookieShapesMatchGo compares, attribute by attribute, the Set-Cookie
// lines Better Auth sends with the *http.Cookie values shared/auth builds:
// a secure (https) deployment, rememberMe:false, and the expiring trio for a
// validly signed but unknown token.
func TestCookieShapesMatchGo(t *testing.T) {
	dbURL := startPostgres(t)
	applySchema(t, dbURL)
	const secureBase = "https://ari.example"
	peer := Start(t, dbURL, testSecret, secureBase)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cookies := auth.NewCookies(secureBase)
	if cookies.SessionToken() != "__Secure-better-auth.session_token" {
		t.Fatalf("secure cookie name %q", cookies.SessionToken())
	}

	// Sign up with rememberMe:false over a secure base URL.
	res, err := peer.NewClient().PostJSON(ctx, "/api/auth/sign-up/email", map[string]any{
		"name": "Bo", "email": "bo@example.com", "password": "12345678", "rememberMe": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Token string }
	if res.Status != http.StatusOK || res.JSON(&body) != nil {
		t.Fatalf("sign-up: %d %s", res.Status, res.Body)
	}
	assertSameCookie(t, setCookieLine(t, res, cookies.SessionToken()), cookies.Session(body.Token, testSecret, 0))
	assertSameCookie(t, setCookieLine(t, res, cookies.Name(auth.DontRememberCookie)), cookies.DontRemember(testSecret))

	// Sign in with rememberMe left at its default: a 7-day cookie.
	res, err = peer.NewClient().PostJSON(ctx, "/api/auth/sign-in/email", map[string]any{"email": "bo@example.com", "password": "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.JSON(&body) != nil {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	assertSameCookie(t, setCookieLine(t, res, cookies.SessionToken()), cookies.Session(body.Token, testSecret, 7*24*time.Hour))

	// A correctly signed cookie for a token with no session row: null and
	// the three expiring cookies.
	res, err = getWithCookie(ctx, peer, cookies.SessionToken()+"="+auth.SignCookieValue(auth.GenerateID(32), testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || strings.TrimSpace(string(res.Body)) != "null" {
		t.Fatalf("get-session for an unknown token: %d %s", res.Status, res.Body)
	}
	expiring := cookies.ExpireSession()
	if got := len(res.Header.Values("Set-Cookie")); got != len(expiring) {
		t.Errorf("got %d Set-Cookie headers, want %d: %q", got, len(expiring), res.Header.Values("Set-Cookie"))
	}
	for _, want := range expiring {
		assertSameCookie(t, setCookieLine(t, res, want.Name), want)
	}

	// A bad signature is treated as no cookie: null and no Set-Cookie.
	bad := auth.SignValue(auth.GenerateID(32), testSecret+"x")
	res, err = getWithCookie(ctx, peer, cookies.SessionToken()+"="+bad)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res.Body)) != "null" || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("bad signature: %s, Set-Cookie %q", res.Body, res.Header.Values("Set-Cookie"))
	}
}

func getWithCookie(ctx context.Context, peer *Peer, cookie string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/api/auth/get-session", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cookie", cookie)
	return peer.NewClient().Do(req)
}

// assertSameCookie compares a Set-Cookie line from Better Auth with the one
// net/http writes for want: same name=value and the same attribute set
// (attribute order differs between the two and does not matter to clients).
func assertSameCookie(t *testing.T, line string, want *http.Cookie) {
	t.Helper()
	split := func(s string) (string, map[string]bool) {
		parts := strings.Split(s, "; ")
		attrs := make(map[string]bool)
		for _, a := range parts[1:] {
			attrs[a] = true
		}
		return parts[0], attrs
	}
	gotKV, gotAttrs := split(line)
	wantKV, wantAttrs := split(want.String())
	if gotKV != wantKV || len(gotAttrs) != len(wantAttrs) {
		t.Errorf("Better Auth: %s\n     Go: %s", line, want.String())
		return
	}
	for a := range wantAttrs {
		if !gotAttrs[a] {
			t.Errorf("Better Auth: %s\n     Go: %s", line, want.String())
			return
		}
	}
}
