package auth_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/betterauth"
)

// TestInteropWithStockBetterAuth runs a stock Better Auth 1.7 (from npm)
// beside this server on the same database and secret, with the same session
// policy (the peer is started with our 30-day expiresIn and 1-day
// updateAge), and checks all five directions of the compatibility promise.
// Both listen on 127.0.0.1, so one cookie jar carries a session between them,
// as a browser would between two servers of one site.
func TestInteropWithStockBetterAuth(t *testing.T) {
	s := newServer(t, nil)
	peer := betterauth.Start(t, testenv.DatabaseURL(t), testSecret, s.cfg.BaseURL,
		betterauth.WithSession(s.cfg.SessionExpiresIn, s.cfg.SessionUpdateAge))
	onPeer := func(path string) string { return peer.URL + path }
	const pw = "interop password 1"

	t.Run("a: signed up on Better Auth, signs in here", func(t *testing.T) {
		email := uniqueEmail("ba-user")
		c := s.client(t)
		if res := c.post(onPeer("/api/auth/sign-up/email"), map[string]any{"name": "Bea", "email": email, "password": pw}); res.Status != 200 {
			t.Fatalf("peer sign-up: %d %s", res.Status, res.Body)
		}
		res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw})
		var in signInBody
		res.json(t, &in)
		if res.Status != 200 || in.User.Email != email {
			t.Fatalf("sign-in here: %d %s", res.Status, res.Body)
		}
		if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "not " + pw}); res.Status != 401 {
			t.Fatalf("wrong password here: %d", res.Status)
		}
	})

	t.Run("b: a cookie minted here passes Better Auth's get-session", func(t *testing.T) {
		c := s.client(t)
		up := signUp(t, c, uniqueEmail("go-cookie"), pw)
		res := c.get(onPeer("/api/auth/get-session"))
		var got sessionBody
		res.json(t, &got)
		if res.Status != 200 || got.User.ID != up.User.ID || got.Session.Token != up.Token {
			t.Fatalf("peer get-session: %d %s", res.Status, res.Body)
		}
		// Same session policy on both sides: a fresh session is not
		// refreshed (and its cookie not re-sent) by the peer.
		if len(res.Header.Values("Set-Cookie")) != 0 {
			t.Fatalf("peer re-sent cookies for a fresh session: %v", res.Header.Values("Set-Cookie"))
		}
	})

	t.Run("c: a Better Auth cookie passes our get-session", func(t *testing.T) {
		c := s.client(t)
		res := c.post(onPeer("/api/auth/sign-up/email"), map[string]any{"name": "Cy", "email": uniqueEmail("ba-cookie"), "password": pw})
		var up signUpBody
		res.json(t, &up)
		if res.Status != 200 {
			t.Fatalf("peer sign-up: %d %s", res.Status, res.Body)
		}
		got := c.session()
		if got == nil || got.User.ID != up.User.ID || got.Session.Token != up.Token {
			t.Fatalf("our get-session with the peer's cookie: %+v", got)
		}
		// Our own authenticated endpoints take it too.
		if res := c.get("/api/auth/list-sessions"); res.Status != 200 || !strings.Contains(string(res.Body), up.Token) {
			t.Fatalf("list-sessions with the peer's cookie: %d %s", res.Status, res.Body)
		}
	})

	t.Run("d: signed up here, signs in on Better Auth", func(t *testing.T) {
		email := uniqueEmail("go-user")
		signUp(t, s.client(t), email, pw)
		c := s.client(t)
		res := c.post(onPeer("/api/auth/sign-in/email"), map[string]any{"email": email, "password": pw})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"email":"`+email+`"`) {
			t.Fatalf("peer sign-in: %d %s", res.Status, res.Body)
		}
		if res := c.post(onPeer("/api/auth/sign-in/email"), map[string]any{"email": email, "password": "not " + pw}); res.Status != 401 {
			t.Fatalf("peer accepted a wrong password: %d", res.Status)
		}
	})

	// The signing-out side also expires the browser's cookie, so each check
	// sends the old cookie explicitly: the row itself must be gone.
	getWithCookie := func(t *testing.T, url, token string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Cookie", "better-auth.session_token="+signedCookie(token))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("get-session %s: %d %s", url, res.StatusCode, b)
		}
		return strings.TrimSpace(string(b))
	}

	t.Run("e: sign-out on one side ends the session on the other", func(t *testing.T) {
		// Signed in here, signed out on Better Auth.
		c := s.client(t)
		up := signUp(t, c, uniqueEmail("out-there"), pw)
		if got := getWithCookie(t, s.URL+"/api/auth/get-session", up.Token); got == "null" {
			t.Fatal("fresh session unknown here")
		}
		if res := c.post(onPeer("/api/auth/sign-out"), map[string]any{}); res.Status != 200 {
			t.Fatalf("peer sign-out: %d %s", res.Status, res.Body)
		}
		if got := getWithCookie(t, s.URL+"/api/auth/get-session", up.Token); got != "null" {
			t.Fatalf("session alive here after sign-out on Better Auth: %s", got)
		}
		// Signed in on Better Auth, signed out here.
		d := s.client(t)
		res := d.post(onPeer("/api/auth/sign-up/email"), map[string]any{"name": "Di", "email": uniqueEmail("out-here"), "password": pw})
		var peerUp signUpBody
		res.json(t, &peerUp)
		if res.Status != 200 || getWithCookie(t, onPeer("/api/auth/get-session"), peerUp.Token) == "null" {
			t.Fatalf("peer sign-up: %d %s", res.Status, res.Body)
		}
		if res := d.post("/api/auth/sign-out", map[string]any{}); res.Status != 200 {
			t.Fatalf("sign-out here: %d %s", res.Status, res.Body)
		}
		if got := getWithCookie(t, onPeer("/api/auth/get-session"), peerUp.Token); got != "null" {
			t.Fatalf("peer still knows the session signed out here: %s", got)
		}
	})
}
