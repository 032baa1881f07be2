package auth_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/betterauth"
)

// TestInteropMailLinks: a password-reset or verification link minted by one
// side is accepted by the other (a stock Better Auth 1.7 from npm on the
// same database and secret, whose baseURL is ours, so its links point here).
func TestInteropMailLinks(t *testing.T) {
	s := newServer(t, nil)
	peer := betterauth.Start(t, testenv.DatabaseURL(t), testSecret, s.cfg.BaseURL,
		betterauth.WithSession(s.cfg.SessionExpiresIn, s.cfg.SessionUpdateAge))
	onPeer := func(path string) string { return peer.URL + path }
	const pw = "interop password 1"
	verified := func(t *testing.T, email string) bool {
		t.Helper()
		var v bool
		if err := s.db.Pool.QueryRow(context.Background(), `select "emailVerified" from "user" where email = $1`, email).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("f: a reset token minted here resets the password on Better Auth", func(t *testing.T) {
		email := uniqueEmail("reset-here")
		signUp(t, s.client(t), email, pw)
		if res := s.client(t).post("/api/auth/request-password-reset", map[string]any{"email": email, "redirectTo": "/reset"}); res.Status != 200 {
			t.Fatalf("request: %d %s", res.Status, res.Body)
		}
		_, link := s.mailTo(t, email)
		u, _ := url.Parse(link)
		token := strings.TrimPrefix(u.Path, "/api/auth/reset-password/")
		if res := s.client(t).post(onPeer("/api/auth/reset-password"), map[string]any{"newPassword": "peer new password", "token": token}); res.Status != 200 {
			t.Fatalf("peer reset: %d %s", res.Status, res.Body)
		}
		if res := s.client(t).post(onPeer("/api/auth/sign-in/email"), map[string]any{"email": email, "password": "peer new password"}); res.Status != 200 {
			t.Fatalf("peer sign-in with the new password: %d %s", res.Status, res.Body)
		}
		if res := s.client(t).post("/api/auth/reset-password", map[string]any{"newPassword": "again and again", "token": token}); res.Status != 400 {
			t.Fatalf("token spent on the peer still works here: %d %s", res.Status, res.Body)
		}
	})

	t.Run("g: a reset link minted by Better Auth works here", func(t *testing.T) {
		email := uniqueEmail("reset-there")
		c := s.client(t)
		if res := c.post(onPeer("/api/auth/sign-up/email"), map[string]any{"name": "Bo", "email": email, "password": pw}); res.Status != 200 {
			t.Fatalf("peer sign-up: %d %s", res.Status, res.Body)
		}
		if res := s.client(t).post(onPeer("/api/auth/request-password-reset"), map[string]any{"email": email, "redirectTo": "/reset"}); res.Status != 200 {
			t.Fatalf("peer request: %d %s", res.Status, res.Body)
		}
		m := peer.WaitMail(t, "reset-password", email, 15*time.Second)
		if !strings.HasPrefix(m.URL, s.cfg.BaseURL+"/api/auth/reset-password/"+m.Token+"?callbackURL=") {
			t.Fatalf("peer's link %q", m.URL)
		}
		res := s.client(t).get(m.URL) // the peer's link, opened here
		if loc := res.Header.Get("Location"); res.Status != 302 || loc != s.cfg.BaseURL+"/reset?token="+m.Token {
			t.Fatalf("peer's link here: %d %q", res.Status, loc)
		}
		if res := s.client(t).post("/api/auth/reset-password", map[string]any{"newPassword": "go new password", "token": m.Token}); res.Status != 200 {
			t.Fatalf("reset here: %d %s", res.Status, res.Body)
		}
		if c.session() != nil {
			t.Fatal("the peer's session outlived the reset")
		}
		if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "go new password"}); res.Status != 200 {
			t.Fatalf("sign-in here: %d %s", res.Status, res.Body)
		}
	})

	t.Run("h: a verification link minted here verifies on Better Auth", func(t *testing.T) {
		email := uniqueEmail("verify-here")
		c := s.client(t)
		signUp(t, c, email, pw)
		if res := c.post("/api/auth/send-verification-email", map[string]any{"email": email}); res.Status != 200 {
			t.Fatalf("send: %d %s", res.Status, res.Body)
		}
		_, link := s.mailTo(t, email)
		u, _ := url.Parse(link)
		res := s.client(t).get(onPeer("/api/auth/verify-email?token=" + u.Query().Get("token")))
		if res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true,"user":null}` {
			t.Fatalf("peer verify: %d %s", res.Status, res.Body)
		}
		if !verified(t, email) {
			t.Fatal("not verified after the peer took our link")
		}
	})

	t.Run("i: a verification link minted by Better Auth verifies here", func(t *testing.T) {
		email := uniqueEmail("verify-there")
		if res := s.client(t).post(onPeer("/api/auth/sign-up/email"), map[string]any{"name": "Vi", "email": email, "password": pw}); res.Status != 200 {
			t.Fatalf("peer sign-up: %d %s", res.Status, res.Body)
		}
		if res := s.client(t).post(onPeer("/api/auth/send-verification-email"), map[string]any{"email": email, "callbackURL": "/hi"}); res.Status != 200 {
			t.Fatalf("peer send: %d %s", res.Status, res.Body)
		}
		m := peer.WaitMail(t, "verify-email", email, 15*time.Second)
		res := s.client(t).get(m.URL) // points here: the peer's baseURL is ours
		if res.Status != 302 || res.Header.Get("Location") != "/hi" {
			t.Fatalf("peer's link here: %d %q %s", res.Status, res.Header.Get("Location"), res.Body)
		}
		if !verified(t, email) {
			t.Fatal("not verified after we took the peer's link")
		}
	})
}
