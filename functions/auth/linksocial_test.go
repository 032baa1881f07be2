package auth_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
)

// TestLinkSocial: a signed-in user links a Google or GitHub account whose
// verified email is theirs; the callback links without a new session and
// refuses what Better Auth refuses, with its codes.
func TestLinkSocial(t *testing.T) {
	s, f := oauthServer(t)
	ctx := context.Background()
	if res := s.client(t).post("/api/auth/link-social", map[string]any{"provider": "github"}); res.Status != 401 {
		t.Fatalf("signed out: %d %s", res.Status, res.Body)
	}
	c := s.client(t)
	email := uniqueEmail("linker")
	up := signUp(t, c, email, "linker password")
	if res := c.post("/api/auth/link-social", map[string]any{"provider": "myspace"}); res.Status != 404 || res.err(t).Code != "PROVIDER_NOT_FOUND" {
		t.Fatalf("unknown provider: %d %s", res.Status, res.Body)
	}

	start := func(c *client, provider string) string {
		t.Helper()
		res := c.post("/api/auth/link-social", map[string]any{"provider": provider, "callbackURL": "/linked", "errorCallbackURL": "/link-error"})
		var out struct {
			URL      string `json:"url"`
			Redirect bool   `json:"redirect"`
		}
		res.json(t, &out)
		if res.Status != 200 || !out.Redirect || res.Header.Get("Location") != out.URL {
			t.Fatalf("link-social: %d %s", res.Status, res.Body)
		}
		return out.URL
	}
	sub := "88" + randDigits()
	f.signInAs(fakeUser{ID: sub, Login: "linker", Email: email, EmailVerified: true})
	purl := start(c, "github")
	u, _ := url.Parse(purl)
	var value string
	if err := s.db.Pool.QueryRow(ctx, `select value from "verification" where identifier = $1`, "auth-state:"+u.Query().Get("state")).Scan(&value); err != nil {
		t.Fatal(err)
	}
	var sd struct {
		Link struct{ UserID, Email string } `json:"link"`
	}
	_ = json.Unmarshal([]byte(value), &sd)
	if sd.Link.UserID != up.User.ID || sd.Link.Email != up.User.Email {
		t.Fatalf("state value %s", value)
	}
	before := s.counts(t)
	res, _ := finishOAuth(t, c, purl)
	if res.Status != 302 || res.Header.Get("Location") != "/linked" {
		t.Fatalf("link callback: %d %v", res.Status, res.Header)
	}
	if a := account(t, s, "github", sub); a.UserID != up.User.ID || a.AccessToken == "" {
		t.Fatalf("linked account %+v", a)
	}
	if after := s.counts(t); after.sessions != before.sessions || after.users != before.users || after.accounts != before.accounts+1 {
		t.Fatalf("rows %+v -> %+v", before, after)
	}
	var list []map[string]any
	c.get("/api/auth/list-accounts").json(t, &list)
	if len(list) != 2 {
		t.Fatalf("list-accounts %v", list)
	}

	// Refusals, each to the errorCallbackURL with Better Auth's code.
	refused := func(c *client, provider string, fu fakeUser, code string) {
		t.Helper()
		f.signInAs(fu)
		before := s.counts(t)
		res, _ := finishOAuth(t, c, start(c, provider))
		errorRedirect(t, res, "/link-error", code)
		if after := s.counts(t); after.accounts != before.accounts {
			t.Fatalf("%s: accounts %d -> %d", code, before.accounts, after.accounts)
		}
	}
	refused(c, "google", fakeUser{ID: "g" + randDigits(), Name: "x", Email: uniqueEmail("other"), EmailVerified: true}, "email_does_not_match")
	refused(c, "google", fakeUser{ID: "g" + randDigits(), Name: "x", Email: email, EmailVerified: false}, "unable_to_link_account")
	c2 := s.client(t)
	email2 := uniqueEmail("second")
	signUp(t, c2, email2, "second password")
	refused(c2, "github", fakeUser{ID: sub, Login: "linker", Email: email2, EmailVerified: true}, "account_already_linked_to_different_user")
	// The session that started the link ended before the provider came back.
	f.signInAs(fakeUser{ID: "g" + randDigits(), Name: "x", Email: email, EmailVerified: true})
	purl = start(c, "google")
	if res := c.post("/api/auth/sign-out", map[string]any{}); res.Status != 200 {
		t.Fatalf("sign-out: %d", res.Status)
	}
	res, _ = finishOAuth(t, c, purl)
	errorRedirect(t, res, "/link-error", "unable_to_link_account")
}
