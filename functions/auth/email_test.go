package auth_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/store"
)

type signUpBody struct {
	Token string `json:"token"`
	User  struct {
		ID            string  `json:"id"`
		Email         string  `json:"email"`
		Name          string  `json:"name"`
		EmailVerified bool    `json:"emailVerified"`
		Image         *string `json:"image"`
		CreatedAt     string  `json:"createdAt"`
	} `json:"user"`
}

type signInBody struct {
	Redirect bool   `json:"redirect"`
	Token    string `json:"token"`
	URL      string `json:"url"`
	User     struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
}

func signUp(t *testing.T, c *client, email, password string) signUpBody {
	t.Helper()
	res := c.post("/api/auth/sign-up/email", map[string]any{"name": "Ada", "email": email, "password": password})
	if res.Status != 200 {
		t.Fatalf("sign-up: %d %s", res.Status, res.Body)
	}
	var b signUpBody
	res.json(t, &b)
	return b
}

func TestEmailSignUpSignInSignOut(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	email := uniqueEmail("Ada")
	const pw = "correct horse battery"

	res := c.post("/api/auth/sign-up/email", map[string]any{"name": "Ada", "email": email, "password": pw})
	if res.Status != 200 {
		t.Fatalf("sign-up: %d %s", res.Status, res.Body)
	}
	var up signUpBody
	res.json(t, &up)
	if len(up.Token) != 32 || len(up.User.ID) != 32 || up.User.Email != strings.ToLower(email) || up.User.EmailVerified ||
		up.User.Image != nil || !strings.HasSuffix(up.User.CreatedAt, "Z") || len(up.User.CreatedAt) != 24 {
		t.Fatalf("sign-up body: %s", res.Body)
	}
	if strings.Contains(string(res.Body), "password") {
		t.Fatal("sign-up answer mentions the password")
	}
	ck, ok := setCookie(res, "better-auth.session_token")
	if !ok || ck.MaxAge != int((30*24*time.Hour).Seconds()) || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie: %+v", ck)
	}
	if ck.Value != sa.SignCookieValue(up.Token, testSecret) {
		t.Fatalf("cookie value %q is not Better Auth's signed token", ck.Value)
	}
	// The credential account is Better Auth's: accountId = userId, scrypt hash.
	var accountID, hash string
	if err := s.db.Pool.QueryRow(context.Background(), `select "accountId", password from "account"
		where "userId" = $1 and "providerId" = 'credential'`, up.User.ID).Scan(&accountID, &hash); err != nil {
		t.Fatal(err)
	}
	if accountID != up.User.ID || len(hash) != 161 || hash[32] != ':' {
		t.Fatalf("credential account: accountId %q hash %q", accountID, hash)
	}

	got := c.session()
	if got == nil || got.User.ID != up.User.ID || got.Session.Token != up.Token {
		t.Fatalf("get-session after sign-up: %+v", got)
	}
	res = c.get("/api/auth/get-session")
	if res.Header.Get("Cache-Control") != "no-store" || res.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("get-session caching headers: %v", res.Header)
	}

	res = c.post("/api/auth/sign-out", map[string]any{})
	if res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"success":true}` {
		t.Fatalf("sign-out: %d %s", res.Status, res.Body)
	}
	for _, name := range []string{"better-auth.session_token", "better-auth.session_data", "better-auth.dont_remember"} {
		if ck, ok := setCookie(res, name); !ok || ck.MaxAge >= 0 {
			t.Errorf("sign-out did not expire %s", name)
		}
	}
	if c.session() != nil {
		t.Fatal("session survived sign-out")
	}
	if _, _, err := s.db.SessionByToken(context.Background(), up.Token); err != store.ErrNotFound {
		t.Fatalf("session row after sign-out: %v", err)
	}

	// Wrong password and unknown email: the same answer.
	wrong := c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "wrong password!"})
	unknown := c.post("/api/auth/sign-in/email", map[string]any{"email": uniqueEmail("nobody"), "password": pw})
	if wrong.Status != 401 || unknown.Status != 401 || string(wrong.Body) != string(unknown.Body) {
		t.Fatalf("wrong password %d %s / unknown email %d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	if e := wrong.err(t); e.Code != "INVALID_EMAIL_OR_PASSWORD" || e.Message != "Invalid email or password" {
		t.Fatalf("error: %+v", e)
	}

	// Sign in with the email in another case.
	res = c.post("/api/auth/sign-in/email", map[string]any{"email": strings.ToUpper(email), "password": pw})
	var in signInBody
	res.json(t, &in)
	if res.Status != 200 || in.Redirect || in.URL != "" || len(in.Token) != 32 || in.User.ID != up.User.ID {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	if strings.Contains(string(res.Body), `"url"`) {
		t.Fatalf("sign-in without callbackURL has a url key: %s", res.Body)
	}
	res = c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw, "callbackURL": "/after-login"})
	res.json(t, &in)
	if res.Status != 200 || !in.Redirect || in.URL != "/after-login" || res.Header.Get("Location") != "/after-login" {
		t.Fatalf("sign-in with callbackURL: %d %v %s", res.Status, res.Header, res.Body)
	}

	// The same email again.
	res = c.post("/api/auth/sign-up/email", map[string]any{"name": "Eve", "email": strings.ToUpper(email), "password": pw})
	if res.Status != 422 || res.err(t).Code != "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL" {
		t.Fatalf("duplicate sign-up: %d %s", res.Status, res.Body)
	}
}

func TestFormBodySignIn(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	email := uniqueEmail("form")
	signUp(t, c, email, "form password 1")
	res := c.do("POST", "/api/auth/sign-in/email", strings.NewReader("email="+email+"&password=form+password+1&rememberMe=true"),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.Status != 200 {
		t.Fatalf("form sign-in: %d %s", res.Status, res.Body)
	}
}

func TestRememberMeFalse(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	email := uniqueEmail("brief")
	signUp(t, c, email, "a good password")
	res := c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "a good password", "rememberMe": false})
	if res.Status != 200 {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	var in signInBody
	res.json(t, &in)
	ck, ok := setCookie(res, "better-auth.session_token")
	if !ok || ck.MaxAge != 0 || !ck.Expires.IsZero() {
		t.Fatalf("rememberMe:false must set a browser-session cookie: %+v", ck)
	}
	dr, ok := setCookie(res, "better-auth.dont_remember")
	if v, vok := sa.VerifySignedValue(dr.Value, testSecret); !ok || !vok || v != "true" || dr.MaxAge != 0 {
		t.Fatalf("dont_remember cookie: %+v", dr)
	}
	sess, _, err := s.db.SessionByToken(context.Background(), in.Token)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(sess.ExpiresAt.Time); d < 23*time.Hour || d > 25*time.Hour {
		t.Fatalf("rememberMe:false session lives %v, want a day", d)
	}
	// While dont_remember is present, use never extends the session.
	old := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Millisecond)
	setExpiry(t, s, in.Token, old)
	if c.session() == nil {
		t.Fatal("session gone")
	}
	if got := expiry(t, s, in.Token); !got.Equal(old) {
		t.Fatalf("dont_remember session refreshed to %v", got)
	}
}

func setExpiry(t *testing.T, s *server, token string, at time.Time) {
	t.Helper()
	if _, err := s.db.Pool.Exec(context.Background(), `update "session" set "expiresAt" = $2 where token = $1`, token, at); err != nil {
		t.Fatal(err)
	}
}

func expiry(t *testing.T, s *server, token string) time.Time {
	t.Helper()
	var at time.Time
	if err := s.db.Pool.QueryRow(context.Background(), `select "expiresAt" from "session" where token = $1`, token).Scan(&at); err != nil {
		t.Fatal(err)
	}
	return at
}

func TestSessionRefreshOncePerUpdateAge(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	up := signUp(t, c, uniqueEmail("refresh"), "a good password")
	life := s.cfg.SessionExpiresIn

	// Refreshed an hour ago: left alone, no cookie re-sent.
	recent := time.Now().Add(life - time.Hour).UTC().Truncate(time.Millisecond)
	setExpiry(t, s, up.Token, recent)
	res := c.get("/api/auth/get-session")
	if _, ok := setCookie(res, "better-auth.session_token"); ok || !expiry(t, s, up.Token).Equal(recent) {
		t.Fatal("session refreshed within UpdateAge")
	}
	// Refreshed 25 hours ago: ?disableRefresh=true skips it...
	stale := time.Now().Add(life - 25*time.Hour).UTC().Truncate(time.Millisecond)
	setExpiry(t, s, up.Token, stale)
	c.get("/api/auth/get-session?disableRefresh=true")
	if !expiry(t, s, up.Token).Equal(stale) {
		t.Fatal("disableRefresh refreshed")
	}
	// ...and a plain use extends it by the full lifetime, same token.
	res = c.get("/api/auth/get-session")
	ck, ok := setCookie(res, "better-auth.session_token")
	if !ok || ck.MaxAge != int(life.Seconds()) || ck.Value != sa.SignCookieValue(up.Token, testSecret) {
		t.Fatalf("refresh cookie: %+v", ck)
	}
	if d := time.Until(expiry(t, s, up.Token)); d < life-time.Minute {
		t.Fatalf("refreshed expiry only %v ahead", d)
	}
}

func TestExpiredAndTamperedSessions(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	up := signUp(t, c, uniqueEmail("expired"), "a good password")

	// A tampered signature is no cookie at all: null, no Set-Cookie.
	tampered := s.client(t)
	res := tampered.do("GET", "/api/auth/get-session", nil, map[string]string{
		"Cookie": "better-auth.session_token=" + up.Token + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"})
	if res.Status != 200 || strings.TrimSpace(string(res.Body)) != "null" || len(res.Header.Values("Set-Cookie")) != 0 {
		t.Fatalf("tampered cookie: %d %v %s", res.Status, res.Header, res.Body)
	}
	if res := tampered.do("GET", "/api/auth/list-sessions", nil, map[string]string{
		"Cookie": "better-auth.session_token=" + up.Token + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"}); res.Status != 401 || res.err(t).Code != "UNAUTHORIZED" {
		t.Fatalf("tampered cookie on list-sessions: %d %s", res.Status, res.Body)
	}

	// An expired row: null, three expiring cookies, and the row is deleted.
	setExpiry(t, s, up.Token, time.Now().Add(-time.Second))
	before := s.counts(t)
	res = c.get("/api/auth/get-session")
	if strings.TrimSpace(string(res.Body)) != "null" || len(res.Header.Values("Set-Cookie")) != 3 {
		t.Fatalf("expired session: %v %s", res.Header, res.Body)
	}
	if after := s.counts(t); after.sessions != before.sessions-1 {
		t.Fatalf("expired row not deleted: %+v -> %+v", before, after)
	}
}

func TestBearerToken(t *testing.T) {
	s := newServer(t, nil)
	up := signUp(t, s.client(t), uniqueEmail("bearer"), "a good password")
	for name, v := range map[string]string{"bare": up.Token, "signed": sa.SignValue(up.Token, testSecret)} {
		c := s.client(t)
		res := c.do("GET", "/api/auth/get-session", nil, map[string]string{"Authorization": "Bearer " + v})
		var got sessionBody
		res.json(t, &got)
		if got.User.ID != up.User.ID {
			t.Errorf("%s bearer: %s", name, res.Body)
		}
	}
}

func TestRehashToConfiguredAlgorithm(t *testing.T) {
	scryptSrv := newServer(t, nil)
	email := uniqueEmail("rehash")
	up := signUp(t, scryptSrv.client(t), email, "rehash me please")
	argonSrv := newServer(t, func(c *config.Config) { c.PasswordAlgorithm = "argon2id" })
	c := argonSrv.client(t)
	for i := range 2 {
		if res := c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "rehash me please"}); res.Status != 200 {
			t.Fatalf("sign-in %d on argon2id server: %d %s", i, res.Status, res.Body)
		}
		hash, err := argonSrv.db.CredentialPassword(context.Background(), up.User.ID)
		if err != nil || !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("after sign-in %d the hash is %q (%v)", i, hash, err)
		}
	}
	// Back on a scrypt server, the argon2id hash still verifies and is
	// moved back to Better Auth's format.
	if res := scryptSrv.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "rehash me please"}); res.Status != 200 {
		t.Fatalf("sign-in on scrypt server: %d %s", res.Status, res.Body)
	}
	if hash, _ := scryptSrv.db.CredentialPassword(context.Background(), up.User.ID); len(hash) != 161 {
		t.Fatalf("not rehashed to scrypt: %q", hash)
	}
	if res := scryptSrv.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "wrong password"}); res.Status != 401 {
		t.Fatalf("wrong password after rehash: %d", res.Status)
	}
}

// TestUnknownEmailTakesAsLongAsWrongPassword compares median times: both
// paths spend one scrypt derivation, so they must be within a factor of
// two of each other (the machine is shared, so the band is wide; a missing
// dummy derivation would make the unknown-email path ~100x faster).
func TestUnknownEmailTakesAsLongAsWrongPassword(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	email := uniqueEmail("timing")
	signUp(t, c, email, "timing password")
	// The cost is the password key derivation: both answers must run exactly
	// one, with the same parameters (a stopwatch on a shared machine proves
	// nothing either way). Timings are logged for a person to look at.
	attempt := func(email string) (int64, time.Duration, string) {
		before, start := sa.KeyDerivations(), time.Now()
		res := c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "not the password"})
		if res.Status != 401 {
			t.Fatalf("sign-in: %d %s", res.Status, res.Body)
		}
		return sa.KeyDerivations() - before, time.Since(start), string(res.Body)
	}
	attempt(uniqueEmail("warm")) // the process's dummy hash is made on first use
	for range 3 {
		nWrong, dWrong, bodyWrong := attempt(email)
		nUnknown, dUnknown, bodyUnknown := attempt(uniqueEmail("ghost"))
		t.Logf("wrong password %v, unknown email %v", dWrong, dUnknown)
		if nWrong != 1 || nUnknown != 1 {
			t.Fatalf("key derivations: wrong password %d, unknown email %d; want 1 each", nWrong, nUnknown)
		}
		if bodyWrong != bodyUnknown {
			t.Fatalf("answers differ: %s vs %s", bodyWrong, bodyUnknown)
		}
	}
}

func TestSessionsListRevokeAndChangePassword(t *testing.T) {
	s := newServer(t, nil)
	email := uniqueEmail("multi")
	const pw = "first password"
	a := s.client(t)
	up := signUp(t, a, email, pw)
	signIn := func() (*client, string) {
		c := s.client(t)
		res := c.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw})
		var in signInBody
		res.json(t, &in)
		return c, in.Token
	}
	b, bTok := signIn()

	if res := s.client(t).get("/api/auth/list-sessions"); res.Status != 401 || res.err(t).Code != "UNAUTHORIZED" {
		t.Fatalf("list-sessions signed out: %d %s", res.Status, res.Body)
	}
	res := a.get("/api/auth/list-sessions")
	var list []struct {
		Token  string `json:"token"`
		UserID string `json:"userId"`
	}
	res.json(t, &list)
	if res.Status != 200 || len(list) != 2 || list[0].UserID != up.User.ID {
		t.Fatalf("list-sessions: %d %s", res.Status, res.Body)
	}

	// Someone else's token cannot be revoked through this account.
	other := signUp(t, s.client(t), uniqueEmail("other"), "other password")
	if res := a.post("/api/auth/revoke-session", map[string]any{"token": other.Token}); res.Status != 200 {
		t.Fatalf("revoke foreign: %d %s", res.Status, res.Body)
	}
	if _, _, err := s.db.SessionByToken(context.Background(), other.Token); err != nil {
		t.Fatal("a foreign session was revoked")
	}
	if res := a.post("/api/auth/revoke-session", map[string]any{"token": bTok}); res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true}` {
		t.Fatalf("revoke-session: %d %s", res.Status, res.Body)
	}
	if b.session() != nil {
		t.Fatal("revoked session still works")
	}

	c, _ := signIn()
	if res := a.post("/api/auth/revoke-other-sessions", map[string]any{}); res.Status != 200 {
		t.Fatalf("revoke-other-sessions: %d %s", res.Status, res.Body)
	}
	if c.session() != nil || a.session() == nil {
		t.Fatal("revoke-other-sessions ended the wrong sessions")
	}

	// change-password: the current password is required...
	d, _ := signIn()
	res = a.post("/api/auth/change-password", map[string]any{"currentPassword": "not it", "newPassword": "second password"})
	if res.Status != 400 || res.err(t).Code != "INVALID_PASSWORD" {
		t.Fatalf("wrong current password: %d %s", res.Status, res.Body)
	}
	res = a.post("/api/auth/change-password", map[string]any{"currentPassword": pw, "newPassword": "short"})
	if res.Status != 400 || res.err(t).Code != "PASSWORD_TOO_SHORT" {
		t.Fatalf("short new password: %d %s", res.Status, res.Body)
	}
	// ...and a change ends every other session and keeps this one.
	res = a.post("/api/auth/change-password", map[string]any{"currentPassword": pw, "newPassword": "second password"})
	var changed struct {
		Token *string `json:"token"`
		User  struct{ ID string }
	}
	res.json(t, &changed)
	if res.Status != 200 || changed.Token != nil || changed.User.ID != up.User.ID {
		t.Fatalf("change-password: %d %s", res.Status, res.Body)
	}
	if d.session() != nil || a.session() == nil {
		t.Fatal("change-password did not end the other sessions (or ended this one)")
	}
	if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": pw}); res.Status != 401 {
		t.Fatalf("old password still works: %d", res.Status)
	}
	// revokeOtherSessions:true also replaces this session with a new token.
	res = a.post("/api/auth/change-password", map[string]any{"currentPassword": "second password", "newPassword": "third password", "revokeOtherSessions": true})
	res.json(t, &changed)
	if res.Status != 200 || changed.Token == nil || *changed.Token == up.Token {
		t.Fatalf("change-password with revokeOtherSessions: %d %s", res.Status, res.Body)
	}
	if got := a.session(); got == nil || got.Session.Token != *changed.Token {
		t.Fatalf("new session not in the cookie: %+v", got)
	}
	if _, _, err := s.db.SessionByToken(context.Background(), up.Token); err != store.ErrNotFound {
		t.Fatal("the replaced session survived")
	}
}
