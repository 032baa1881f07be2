package auth_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/config"
)

// AUTH_REQUIRE_EMAIL_VERIFICATION: sign-up mails a verification link and
// signs nobody in, a taken email gets the same answer (and no mail), sign-in
// before verifying is 403 EMAIL_NOT_VERIFIED, and after the link it works.
// Provider sign-in still links to the user only once the email is verified.
func TestRequireEmailVerification(t *testing.T) {
	s, f := oauthServer(t, func(c *config.Config) { c.RequireEmailVerification = true })
	email := uniqueEmail("Must-Verify")
	const pw = "verify me first"
	lower := strings.ToLower(email)

	c := s.client(t)
	res := c.post("/api/auth/sign-up/email", map[string]any{"name": "Vera", "email": email, "password": pw, "callbackURL": "/verified"})
	if res.Status != 200 {
		t.Fatalf("sign-up: %d %s", res.Status, res.Body)
	}
	var first struct {
		Token *string `json:"token"`
		User  struct {
			ID, Email, Name string
			EmailVerified   bool
		} `json:"user"`
	}
	res.json(t, &first)
	if first.Token != nil || first.User.Email != lower || first.User.EmailVerified || len(first.User.ID) != 32 {
		t.Fatalf("sign-up answer %s", res.Body)
	}
	if _, ok := setCookie(res, "better-auth.session_token"); ok || c.session() != nil {
		t.Fatal("sign-up signed in before verification")
	}
	subject, link := s.mailTo(t, lower)
	if !strings.HasPrefix(link, s.cfg.BaseURL+"/api/auth/verify-email?token=") || !strings.HasSuffix(link, "&callbackURL=%2Fverified") {
		t.Fatalf("verification mail %q: %s", subject, link)
	}

	// The same email again: the same shape, another made-up id, no row, no mail.
	before := s.counts(t)
	res = s.client(t).post("/api/auth/sign-up/email", map[string]any{"name": "Mallory", "email": email, "password": "another password"})
	var again struct {
		Token *string `json:"token"`
		User  struct {
			ID, Email, Name string
			EmailVerified   bool
		} `json:"user"`
	}
	res.json(t, &again)
	if res.Status != 200 || again.Token != nil || again.User.ID == first.User.ID || len(again.User.ID) != 32 ||
		again.User.Email != lower || again.User.Name != "Mallory" || again.User.EmailVerified {
		t.Fatalf("taken email answer: %d %s", res.Status, res.Body)
	}
	if after := s.counts(t); after != before {
		t.Fatalf("duplicate sign-up changed rows: %+v -> %+v", before, after)
	}
	if n := s.mailsTo(lower); n != 1 {
		t.Fatalf("%d mails to the address, want 1 (none for the duplicate)", n)
	}

	// Unverified: right password 403, wrong password still 401.
	res = s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw})
	if e := res.err(t); res.Status != 403 || e.Code != "EMAIL_NOT_VERIFIED" || e.Message != "Email not verified" {
		t.Fatalf("unverified sign-in: %d %s", res.Status, res.Body)
	}
	res = s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "wrong password"})
	if e := res.err(t); res.Status != 401 || e.Code != "INVALID_EMAIL_OR_PASSWORD" {
		t.Fatalf("wrong password: %d %s", res.Status, res.Body)
	}
	if n := s.counts(t).sessions; n != before.sessions {
		t.Fatalf("refused sign-ins made sessions: %d -> %d", before.sessions, n)
	}

	// Provider sign-in with the address before it is verified: not linked.
	sub := "55" + randDigits()
	f.signInAs(fakeUser{ID: sub, Name: "Vera", Email: email, EmailVerified: true})
	res = oauthFlow(t, s.client(t), map[string]any{"provider": "google"})
	errorRedirect(t, res, s.cfg.BaseURL+"/api/auth/error", "account_not_linked")

	// The link verifies; then both sign-ins work.
	res = s.client(t).get(link)
	if res.Status != 302 || res.Header.Get("Location") != "/verified" {
		t.Fatalf("verify link: %d %v", res.Status, res.Header)
	}
	signed := s.client(t)
	res = signed.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw})
	if res.Status != 200 {
		t.Fatalf("verified sign-in: %d %s", res.Status, res.Body)
	}
	if got := signed.session(); got == nil || got.User.ID != first.User.ID || !got.User.EmailVerified {
		t.Fatalf("session after verification: %+v", got)
	}
	oc := s.client(t)
	res = oauthFlow(t, oc, map[string]any{"provider": "google", "callbackURL": "/in"})
	if res.Status != 302 || res.Header.Get("Location") != "/in" {
		t.Fatalf("provider sign-in after verification: %d %v", res.Status, res.Header)
	}
	if a := account(t, s, "google", sub); a.UserID != first.User.ID {
		t.Fatalf("provider account linked to %s, want %s", a.UserID, first.User.ID)
	}
	var users int
	if err := s.db.Pool.QueryRow(context.Background(), `select count(*) from "user" where email = $1`, lower).Scan(&users); err != nil || users != 1 {
		t.Fatalf("%d users with the address (%v)", users, err)
	}
}
