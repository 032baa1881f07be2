package auth_test

import (
	"strings"
	"testing"
)

func TestUpdateUser(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	signUp(t, c, uniqueEmail("profile"), "password 123")
	if res := c.post("/api/auth/update-user", map[string]any{"name": "Grace", "image": "https://img.example/g.png"}); res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true}` {
		t.Fatalf("update: %d %s", res.Status, res.Body)
	}
	if got := c.session(); got.User.Name != "Grace" || got.User.Image == nil || *got.User.Image != "https://img.example/g.png" {
		t.Fatalf("after update: %+v", got.User)
	}
	if res := c.post("/api/auth/update-user", map[string]any{"image": nil}); res.Status != 200 {
		t.Fatalf("clear image: %d %s", res.Status, res.Body)
	}
	if got := c.session(); got.User.Image != nil || got.User.Name != "Grace" {
		t.Fatalf("after clearing the image: %+v", got.User)
	}
	for _, tc := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{}, 400, "NO_FIELDS_TO_UPDATE"},
		{map[string]any{"email": "x@example.com"}, 400, "EMAIL_CAN_NOT_BE_UPDATED"},
		{map[string]any{"name": "   "}, 400, "VALIDATION_ERROR"},
		{map[string]any{"name": "a\u0007b"}, 400, "VALIDATION_ERROR"},
		{map[string]any{"image": "javascript:alert(1)"}, 400, "VALIDATION_ERROR"},
		{map[string]any{"name": 5}, 400, "VALIDATION_ERROR"},
	} {
		if res := c.post("/api/auth/update-user", tc.body); res.Status != tc.status || res.err(t).Code != tc.code {
			t.Errorf("%v: %d %s", tc.body, res.Status, res.Body)
		}
	}
	if got := c.session(); got.User.Name != "Grace" {
		t.Fatalf("a refused update changed the name: %+v", got.User)
	}
	if res := s.client(t).post("/api/auth/update-user", map[string]any{"name": "X"}); res.Status != 401 || res.err(t).Code != "UNAUTHORIZED" {
		t.Fatalf("signed out: %d %s", res.Status, res.Body)
	}
}

// change-email mails the new address; the change happens when that link is
// opened. A taken address gets the same answer and no mail.
func TestChangeEmail(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	old := uniqueEmail("old")
	up := signUp(t, c, old, "password 123")
	taken := uniqueEmail("taken")
	signUp(t, s.client(t), taken, "password 123")
	if res := c.post("/api/auth/change-email", map[string]any{"newEmail": taken}); res.Status != 200 {
		t.Fatalf("taken: %d %s", res.Status, res.Body)
	}
	if res := c.post("/api/auth/change-email", map[string]any{"newEmail": strings.ToUpper(old)}); res.Status != 400 || res.err(t).Code != "EMAIL_IS_THE_SAME" {
		t.Fatalf("same: %d %s", res.Status, res.Body)
	}
	newEmail := uniqueEmail("new")
	if res := c.post("/api/auth/change-email", map[string]any{"newEmail": newEmail, "callbackURL": "/settings"}); res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true}` {
		t.Fatalf("change: %d %s", res.Status, res.Body)
	}
	_, link := s.mailTo(t, newEmail)
	if got := c.session(); got.User.Email != old {
		t.Fatalf("email changed before the link was opened: %s", got.User.Email)
	}
	if res := s.client(t).get(link); res.Status != 302 || res.Header.Get("Location") != "/settings" {
		t.Fatalf("link: %d %q %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	if got := c.session(); got.User.Email != newEmail || got.User.ID != up.User.ID {
		t.Fatalf("after the link: %+v", got.User)
	}
	if n := s.mailsTo(taken); n != 0 {
		t.Fatalf("%d mails to a taken address", n)
	}
	// The link is bound to the old address: opened again it is stale.
	if res := s.client(t).get(strings.Replace(link, "callbackURL=%2Fsettings", "callbackURL=", 1)); res.Status != 401 || res.err(t).Code != "INVALID_TOKEN" {
		t.Fatalf("stale link: %d %s", res.Status, res.Body)
	}
	if res := c.post("/api/auth/sign-in/email", map[string]any{"email": newEmail, "password": "password 123"}); res.Status != 200 {
		t.Fatalf("sign-in at the new address: %d %s", res.Status, res.Body)
	}
}

func TestListAndUnlinkAccounts(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	up := signUp(t, c, uniqueEmail("accounts"), "password 123")
	res := c.get("/api/auth/list-accounts")
	var list []map[string]any
	res.json(t, &list)
	if res.Status != 200 || len(list) != 1 || list[0]["providerId"] != "credential" || list[0]["accountId"] != up.User.ID {
		t.Fatalf("list: %d %s", res.Status, res.Body)
	}
	for _, secret := range []string{"password", "accessToken", "refreshToken", "idToken", "scope"} {
		if _, ok := list[0][secret]; ok {
			t.Errorf("list-accounts shows %s", secret)
		}
	}
	if sc, ok := list[0]["scopes"].([]any); !ok || len(sc) != 0 {
		t.Errorf("scopes: %v", list[0]["scopes"])
	}
	id := list[0]["id"].(string)
	if res := c.post("/api/auth/unlink-account", map[string]any{"accountId": id}); res.Status != 400 || res.err(t).Code != "FAILED_TO_UNLINK_LAST_ACCOUNT" {
		t.Fatalf("last account: %d %s", res.Status, res.Body)
	}
	// A second account (as a GitHub sign-in links one), then unlinking works,
	// but only for the caller's own row.
	if _, err := s.db.Pool.Exec(t.Context(), `insert into account(id, "accountId", "providerId", "userId", scope, "createdAt", "updatedAt")
		values ($1, '4242', 'github', $2, 'read:user,user:email', now(), now())`, "gh"+randID(), up.User.ID); err != nil {
		t.Fatal(err)
	}
	other := s.client(t)
	signUp(t, other, uniqueEmail("other"), "password 123")
	if res := other.post("/api/auth/unlink-account", map[string]any{"accountId": id}); res.Status != 400 || res.err(t).Code != "FAILED_TO_UNLINK_LAST_ACCOUNT" {
		t.Fatalf("someone else's account: %d %s", res.Status, res.Body)
	}
	res = c.get("/api/auth/list-accounts")
	list = nil
	res.json(t, &list)
	if len(list) != 2 || list[1]["providerId"] != "github" || len(list[1]["scopes"].([]any)) != 2 {
		t.Fatalf("two accounts: %s", res.Body)
	}
	if res := c.post("/api/auth/unlink-account", map[string]any{"accountId": "nosuch"}); res.Status != 400 || res.err(t).Code != "ACCOUNT_NOT_FOUND" {
		t.Fatalf("unknown: %d %s", res.Status, res.Body)
	}
	if res := c.post("/api/auth/unlink-account", map[string]any{"accountId": list[1]["id"]}); res.Status != 200 {
		t.Fatalf("unlink: %d %s", res.Status, res.Body)
	}
	if res := c.get("/api/auth/list-accounts"); !strings.Contains(string(res.Body), `"credential"`) || strings.Contains(string(res.Body), "github") {
		t.Fatalf("after unlink: %s", res.Body)
	}
}
