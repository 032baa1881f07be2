package auth_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/config"
)

const appOrigin = "http://app.test"

func oauthServer(t *testing.T, mods ...func(*config.Config)) (*server, *fakeProvider) {
	t.Helper()
	f := newFakeProvider(t)
	s := newServer(t, func(c *config.Config) {
		for _, m := range mods {
			m(c)
		}
		c.TrustedOrigins = []string{appOrigin}
		c.GoogleClientID, c.GoogleClientSecret = fakeClientID, fakeClientSecret
		c.GoogleAuthURL, c.GoogleTokenURL, c.GoogleUserInfoURL = f.srv.URL+"/authorize", f.srv.URL+"/token", f.srv.URL+"/userinfo"
		c.GitHubClientID, c.GitHubClientSecret = fakeClientID, fakeClientSecret
		c.GitHubAuthURL, c.GitHubTokenURL, c.GitHubAPIURL = f.srv.URL+"/authorize", f.srv.URL+"/token", f.srv.URL
	})
	return s, f
}

// startOAuth posts sign-in/social and returns the provider URL.
func startOAuth(t *testing.T, c *client, body map[string]any) string {
	t.Helper()
	res := c.post("/api/auth/sign-in/social", body)
	var out struct {
		URL      string `json:"url"`
		Redirect bool   `json:"redirect"`
	}
	res.json(t, &out)
	if res.Status != 200 || !out.Redirect || out.URL == "" || res.Header.Get("Location") != out.URL {
		t.Fatalf("sign-in/social: %d %v %s", res.Status, res.Header, res.Body)
	}
	if _, ok := setCookie(res, "better-auth.state"); !ok {
		t.Fatal("no state cookie")
	}
	return out.URL
}

// finishOAuth follows the provider's redirect back to our callback and
// returns the callback's answer and the callback URL (for replays).
func finishOAuth(t *testing.T, c *client, providerURL string) (*response, string) {
	t.Helper()
	res := c.get(providerURL)
	if res.Status != 302 {
		t.Fatalf("provider authorize: %d %s", res.Status, res.Body)
	}
	cb := res.Header.Get("Location")
	return c.get(cb), cb
}

func oauthFlow(t *testing.T, c *client, body map[string]any) *response {
	t.Helper()
	res, _ := finishOAuth(t, c, startOAuth(t, c, body))
	return res
}

// errorRedirect asserts a 302 to base with ?error=code.
func errorRedirect(t *testing.T, res *response, base, code string) {
	t.Helper()
	loc := res.Header.Get("Location")
	u, err := url.Parse(loc)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	if res.Status != 302 || err != nil || !strings.HasPrefix(loc, base+sep) || u.Query().Get("error") != code {
		t.Fatalf("want 302 to %s?error=%s, got %d Location %q %s", base, code, res.Status, loc, res.Body)
	}
}

type accountRow struct {
	UserID, AccountID, AccessToken, RefreshToken, IDToken, Scope string
	Password                                                     *string
	ExpiresAt                                                    time.Time
}

func account(t *testing.T, s *server, provider, accountID string) accountRow {
	t.Helper()
	var a accountRow
	err := s.db.Pool.QueryRow(context.Background(), `select "userId", "accountId", "accessToken", "refreshToken", "idToken", scope,
		password, "accessTokenExpiresAt" from "account" where "providerId" = $1 and "accountId" = $2`, provider, accountID).Scan(
		&a.UserID, &a.AccountID, &a.AccessToken, &a.RefreshToken, &a.IDToken, &a.Scope, &a.Password, &a.ExpiresAt)
	if err != nil {
		t.Fatalf("account %s/%s: %v", provider, accountID, err)
	}
	return a
}

func TestGoogleOAuthSignUpThenSignIn(t *testing.T) {
	s, f := oauthServer(t)
	c := s.client(t)
	sub := "1098" + randID()
	email := "Grace-" + randID() + "@Example.com"
	f.signInAs(fakeUser{ID: sub, Name: "Grace Hopper", Email: email, EmailVerified: true, Picture: "https://img.test/g.png"})
	before := s.counts(t)

	purl := startOAuth(t, c, map[string]any{"provider": "google", "callbackURL": "/home", "newUserCallbackURL": appOrigin + "/welcome",
		"errorCallbackURL": "/oops"})
	u, _ := url.Parse(purl)
	q := u.Query()
	if q.Get("scope") != "email profile openid" || q.Get("include_granted_scopes") != "true" ||
		q.Get("redirect_uri") != s.cfg.BaseURL+"/api/auth/callback/google" || q.Get("code_challenge_method") != "S256" || len(q.Get("state")) != 32 {
		t.Fatalf("authorization URL %s", purl)
	}
	// The state is stored the way Better Auth stores it.
	var value string
	var expires time.Time
	if err := s.db.Pool.QueryRow(context.Background(), `select value, "expiresAt" from "verification" where identifier = $1`,
		"auth-state:"+q.Get("state")).Scan(&value, &expires); err != nil {
		t.Fatal(err)
	}
	var sd map[string]any
	_ = json.Unmarshal([]byte(value), &sd)
	if sd["callbackURL"] != "/home" || len(sd["codeVerifier"].(string)) != 128 || sd["oauthState"] != q.Get("state") ||
		sd["newUserURL"] != appOrigin+"/welcome" || sd["errorURL"] != "/oops" {
		t.Fatalf("state value %s", value)
	}
	if d := time.Until(expires); d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("state expires in %v", d)
	}

	res, _ := finishOAuth(t, c, purl)
	if res.Status != 302 || res.Header.Get("Location") != appOrigin+"/welcome" {
		t.Fatalf("new user callback: %d %v %s", res.Status, res.Header, res.Body)
	}
	if ck, ok := setCookie(res, "better-auth.state"); !ok || ck.MaxAge >= 0 {
		t.Fatal("state cookie not expired")
	}
	got := c.session()
	if got == nil || got.User.Email != strings.ToLower(email) || !got.User.EmailVerified || got.User.Name != "Grace Hopper" ||
		got.User.Image == nil || *got.User.Image != "https://img.test/g.png" {
		t.Fatalf("session after Google sign-up: %+v", got)
	}
	a := account(t, s, "google", sub)
	if a.UserID != got.User.ID || !strings.HasPrefix(a.AccessToken, "at-") || !strings.HasPrefix(a.RefreshToken, "rt-") ||
		a.IDToken == "" || a.Scope != "openid,https://www.googleapis.com/auth/userinfo.email" || a.Password != nil ||
		time.Until(a.ExpiresAt) < 55*time.Minute {
		t.Fatalf("account row %+v", a)
	}
	after := s.counts(t)
	if after.users != before.users+1 || after.accounts != before.accounts+1 || after.verifications != before.verifications {
		t.Fatalf("rows %+v -> %+v", before, after)
	}

	// Signing in again: the same user, fresh tokens, not a new user.
	c2 := s.client(t)
	res = oauthFlow(t, c2, map[string]any{"provider": "google", "callbackURL": "/home", "newUserCallbackURL": "/welcome"})
	if res.Status != 302 || res.Header.Get("Location") != "/home" {
		t.Fatalf("returning user callback: %d %v", res.Status, res.Header)
	}
	if got2 := c2.session(); got2 == nil || got2.User.ID != got.User.ID {
		t.Fatalf("returning user is %+v", got2)
	}
	if a2 := account(t, s, "google", sub); a2.AccessToken == a.AccessToken || a2.Scope != a.Scope {
		t.Fatalf("tokens not updated (or scope changed): %+v", a2)
	}
	if s.counts(t).users != after.users {
		t.Fatal("a returning user was created again")
	}
}

func TestGitHubOAuth(t *testing.T) {
	s, f := oauthServer(t)
	c := s.client(t)
	id := "4242" + strings.TrimLeft(randDigits(), "0")
	email := "linus-" + randID() + "@example.com"
	// The email is private: only /user/emails has it. No name: the login is used.
	f.signInAs(fakeUser{ID: id, Login: "linus", Email: email, EmailVerified: true, Picture: "https://img.test/l.png"})
	res := oauthFlow(t, c, map[string]any{"provider": "github"})
	if res.Status != 302 || res.Header.Get("Location") != s.cfg.BaseURL {
		t.Fatalf("callback: %d %v %s", res.Status, res.Header, res.Body)
	}
	got := c.session()
	if got == nil || got.User.Email != email || !got.User.EmailVerified || got.User.Name != "linus" {
		t.Fatalf("session: %+v", got)
	}
	if a := account(t, s, "github", id); a.UserID != got.User.ID {
		t.Fatalf("account %+v", a)
	}
	// An unverified primary email makes an unverified user.
	f.signInAs(fakeUser{ID: id + "1", Login: "anon", Name: "Anon", Email: "anon-" + randID() + "@example.com", PublicEmail: true})
	c2 := s.client(t)
	oauthFlow(t, c2, map[string]any{"provider": "github"})
	if got := c2.session(); got == nil || got.User.EmailVerified || got.User.Name != "Anon" {
		t.Fatalf("unverified GitHub user: %+v", got)
	}
}

func TestOAuthAccountLinkingRules(t *testing.T) {
	s, f := oauthServer(t)
	email := uniqueEmail("link")
	up := signUp(t, s.client(t), email, "link password")
	sub := "77" + randDigits()

	// The local email is not verified: no link, even though Google vouches.
	f.signInAs(fakeUser{ID: sub, Name: "L", Email: email, EmailVerified: true})
	before := s.counts(t)
	c := s.client(t)
	res := oauthFlow(t, c, map[string]any{"provider": "google", "errorCallbackURL": appOrigin + "/error?from=oauth"})
	errorRedirect(t, res, appOrigin+"/error?from=oauth", "account_not_linked")
	if !strings.Contains(res.Header.Get("Location"), "from=oauth&error=account_not_linked") {
		t.Fatalf("error params not appended: %s", res.Header.Get("Location"))
	}
	if after := s.counts(t); after.accounts != before.accounts || after.users != before.users || after.sessions != before.sessions {
		t.Fatalf("refused link changed rows: %+v -> %+v", before, after)
	}
	if c.session() != nil {
		t.Fatal("refused link signed in")
	}

	// Local email verified, provider says unverified: still no link.
	if err := s.db.MarkEmailVerified(context.Background(), up.User.ID); err != nil {
		t.Fatal(err)
	}
	f.signInAs(fakeUser{ID: sub, Login: "l", Email: email, EmailVerified: false})
	res = oauthFlow(t, s.client(t), map[string]any{"provider": "github"})
	errorRedirect(t, res, s.cfg.BaseURL+"/api/auth/error", "account_not_linked")

	// Both verified: linked to the existing user.
	f.signInAs(fakeUser{ID: sub, Name: "L", Email: email, EmailVerified: true})
	c = s.client(t)
	res = oauthFlow(t, c, map[string]any{"provider": "google", "callbackURL": "/in"})
	if res.Status != 302 || res.Header.Get("Location") != "/in" {
		t.Fatalf("link: %d %v", res.Status, res.Header)
	}
	if got := c.session(); got == nil || got.User.ID != up.User.ID {
		t.Fatalf("linked session: %+v", got)
	}
	if a := account(t, s, "google", sub); a.UserID != up.User.ID {
		t.Fatalf("linked account %+v", a)
	}
}

func TestOAuthStateAndCallbackFailures(t *testing.T) {
	s, f := oauthServer(t)
	errPage := s.cfg.BaseURL + "/api/auth/error"
	f.signInAs(fakeUser{ID: "5" + randDigits(), Name: "S", Email: uniqueEmail("state"), EmailVerified: true})
	c := s.client(t)

	// A state used once cannot be replayed.
	res, cb := finishOAuth(t, c, startOAuth(t, c, map[string]any{"provider": "google"}))
	if res.Status != 302 || res.Header.Get("Location") != s.cfg.BaseURL {
		t.Fatalf("first callback: %d %v", res.Status, res.Header)
	}
	before := s.counts(t)
	errorRedirect(t, c.get(cb), errPage, "state_mismatch")

	// Unknown and missing state.
	errorRedirect(t, c.get("/api/auth/callback/google?code=abc&state=NoSuchStateNoSuchStateNoSuchStat"), errPage, "state_mismatch")
	errorRedirect(t, c.get("/api/auth/callback/google?code=abc"), errPage, "state_not_found")

	// A state begun in another browser (no state cookie here) is refused,
	// and is used up.
	purl := startOAuth(t, c, map[string]any{"provider": "google", "errorCallbackURL": "/failed"})
	authz := c.get(purl)
	other := s.client(t)
	cb = authz.Header.Get("Location")
	errorRedirect(t, other.get(cb), "/failed", "state_mismatch")
	errorRedirect(t, c.get(cb), errPage, "state_mismatch")

	// An expired state.
	purl = startOAuth(t, c, map[string]any{"provider": "google"})
	state := mustQuery(t, purl, "state")
	if _, err := s.db.Pool.Exec(context.Background(), `update "verification" set "expiresAt" = now() - interval '1 second',
		value = jsonb_set(value::jsonb, '{expiresAt}', to_jsonb((extract(epoch from now()) * 1000)::bigint - 1000))::text
		where identifier = $1`, "auth-state:"+state); err != nil {
		t.Fatal(err)
	}
	res, _ = finishOAuth(t, c, purl)
	errorRedirect(t, res, errPage, "state_mismatch")

	// The provider refused; the PKCE verifier does not match the challenge.
	purl = startOAuth(t, c, map[string]any{"provider": "google", "errorCallbackURL": "/failed"})
	state = mustQuery(t, purl, "state")
	errorRedirect(t, c.get("/api/auth/callback/google?error=access_denied&state="+state), "/failed", "access_denied")
	purl = startOAuth(t, c, map[string]any{"provider": "google"})
	state = mustQuery(t, purl, "state")
	if _, err := s.db.Pool.Exec(context.Background(), `update "verification" set
		value = jsonb_set(value::jsonb, '{codeVerifier}', to_jsonb(repeat('x', 128)))::text where identifier = $1`, "auth-state:"+state); err != nil {
		t.Fatal(err)
	}
	res, _ = finishOAuth(t, c, purl)
	errorRedirect(t, res, errPage, "invalid_code")

	after := s.counts(t)
	if after.users != before.users || after.sessions != before.sessions || after.accounts != before.accounts {
		t.Fatalf("failed callbacks changed rows: %+v -> %+v", before, after)
	}
	if after.verifications != before.verifications {
		t.Fatalf("states left behind: %+v -> %+v", before, after)
	}

	// Refused at the start: untrusted redirect targets, unknown provider.
	for _, tc := range []struct {
		body   map[string]any
		status int
		code   string
	}{
		{map[string]any{"provider": "google", "callbackURL": "https://evil.example/x"}, 403, "INVALID_CALLBACK_URL"},
		{map[string]any{"provider": "google", "callbackURL": "//evil.example/x"}, 403, "INVALID_CALLBACK_URL"},
		{map[string]any{"provider": "google", "errorCallbackURL": "https://evil.example/"}, 403, "INVALID_ERROR_CALLBACK_URL"},
		{map[string]any{"provider": "google", "newUserCallbackURL": "https://evil.example/"}, 403, "INVALID_NEW_USER_CALLBACK_URL"},
		{map[string]any{"provider": "facebook"}, 404, "PROVIDER_NOT_FOUND"},
		{map[string]any{}, 400, "VALIDATION_ERROR"},
	} {
		res := c.post("/api/auth/sign-in/social", tc.body)
		if res.Status != tc.status || res.err(t).Code != tc.code {
			t.Errorf("%v: %d %s", tc.body, res.Status, res.Body)
		}
	}
	if now := s.counts(t); now.verifications != after.verifications {
		t.Fatal("a refused sign-in/social stored a state")
	}
	// disableRedirect: the URL without a Location header.
	res = c.post("/api/auth/sign-in/social", map[string]any{"provider": "github", "disableRedirect": true})
	if res.Status != 200 || res.Header.Get("Location") != "" || !strings.Contains(string(res.Body), `"redirect":false`) {
		t.Fatalf("disableRedirect: %d %v %s", res.Status, res.Header, res.Body)
	}
	// A form_post callback is redirected to the GET form.
	res = c.do("POST", "/api/auth/callback/google", strings.NewReader("code=c1&state=s1"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if res.Status != 302 || res.Header.Get("Location") != s.cfg.BaseURL+"/api/auth/callback/google?code=c1&state=s1" {
		t.Fatalf("form_post: %d %v", res.Status, res.Header)
	}
	// The error page names the code, escaped.
	res = c.get("/api/auth/error?error=%3Cb%3E")
	if res.Status != 200 || !strings.Contains(string(res.Body), "&lt;b&gt;") {
		t.Fatalf("error page: %d %s", res.Status, res.Body)
	}
}

func mustQuery(t *testing.T, raw, key string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(key)
}
