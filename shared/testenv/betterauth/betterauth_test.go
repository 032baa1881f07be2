package betterauth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ari-chat/ari-server/shared/auth"
)

const (
	testSecret  = "interop-test-secret-0123456789abcdefghijklmnop"
	testBaseURL = "http://localhost:3501"
)

type sessionBody struct {
	Session struct {
		Token  string `json:"token"`
		UserID string `json:"userId"`
	} `json:"session"`
	User struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"user"`
}

// TestStockBetterAuthMatchesGoCrypto runs the stock server and checks that
// what it writes is what shared/auth reads (Better Auth → Go), and that what
// shared/auth writes is accepted by Better Auth (Go → Better Auth).
func TestStockBetterAuthMatchesGoCrypto(t *testing.T) {
	dbURL := startPostgres(t)
	applySchema(t, dbURL)
	peer := Start(t, dbURL, testSecret, testBaseURL)
	if !strings.HasPrefix(peer.URL, "http://127.0.0.1:") {
		t.Fatalf("peer URL %q is not on loopback", peer.URL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cookies := auth.NewCookies(testBaseURL)
	const password = "correct horse battery"

	// Sign up: the session cookie Better Auth sets is, byte for byte, the
	// one shared/auth would mint for the same token.
	browser := peer.NewClient()
	res, err := browser.PostJSON(ctx, "/api/auth/sign-up/email", map[string]any{
		"name": "Ada", "email": "Ada@Example.com", "password": password,
	})
	if err != nil {
		t.Fatal(err)
	}
	var signUp struct {
		Token string `json:"token"`
		User  struct {
			ID, Email string
		} `json:"user"`
	}
	if res.Status != http.StatusOK {
		t.Fatalf("sign-up: %d %s", res.Status, res.Body)
	}
	if err := res.JSON(&signUp); err != nil {
		t.Fatal(err)
	}
	if len(signUp.Token) != 32 || len(signUp.User.ID) != 32 || signUp.User.Email != "ada@example.com" {
		t.Fatalf("sign-up body: %s", res.Body)
	}
	ck := setCookieLine(t, res, cookies.SessionToken())
	want := cookies.SessionToken() + "=" + auth.SignCookieValue(signUp.Token, testSecret)
	if !strings.HasPrefix(ck, want+";") {
		t.Fatalf("Better Auth set\n  %s\nGo would mint\n  %s", ck, want)
	}
	for _, attr := range []string{"Max-Age=604800", "Path=/", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(ck, "; "+attr) {
			t.Errorf("session cookie %q lacks %s", ck, attr)
		}
	}
	c, _ := res.Cookie(cookies.SessionToken())
	if tok, ok := auth.VerifySignedValue(c.Value, testSecret); !ok || tok != signUp.Token {
		t.Fatalf("VerifySignedValue(%q) = %q, %v; want %q", c.Value, tok, ok, signUp.Token)
	}
	if _, ok := auth.VerifySignedValue(c.Value, testSecret+"!"); ok {
		t.Fatal("cookie verified under the wrong secret")
	}

	// The hash Better Auth stored (account row with accountId = userId)
	// verifies in Go as scrypt.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var stored string
	err = conn.QueryRow(ctx, `SELECT password FROM account WHERE "userId" = $1 AND "accountId" = $1 AND "providerId" = 'credential'`,
		signUp.User.ID).Scan(&stored)
	if err != nil {
		t.Fatal(err)
	}
	ok, alg, err := auth.VerifyPassword(password, stored)
	if err != nil || !ok || alg != auth.Scrypt {
		t.Fatalf("VerifyPassword(Better Auth's %q) = %v, %q, %v", stored, ok, alg, err)
	}
	if ok, _, _ := auth.VerifyPassword(password+"!", stored); ok {
		t.Fatal("wrong password verified against Better Auth's hash")
	}
	if auth.NeedsRehash(stored, auth.Scrypt) {
		t.Error("Better Auth's own hash flagged for rehash under scrypt")
	}

	// Sign in on a fresh browser, then get-session with the jar's cookie.
	other := peer.NewClient()
	res, err = other.PostJSON(ctx, "/api/auth/sign-in/email", map[string]any{"email": "ada@example.com", "password": password})
	if err != nil {
		t.Fatal(err)
	}
	var signIn struct{ Token string }
	if res.Status != http.StatusOK || res.JSON(&signIn) != nil {
		t.Fatalf("sign-in: %d %s", res.Status, res.Body)
	}
	c, _ = res.Cookie(cookies.SessionToken())
	if tok, ok := auth.VerifySignedValue(c.Value, testSecret); !ok || tok != signIn.Token {
		t.Fatalf("sign-in cookie %q verifies as %q, %v", c.Value, tok, ok)
	}
	sess := getSession(t, ctx, other)
	if sess == nil || sess.Session.Token != signIn.Token || sess.User.ID != signUp.User.ID {
		t.Fatalf("get-session after sign-in = %+v", sess)
	}

	// Go → Better Auth: a cookie minted in Go for a stored token is accepted,
	// and one with a flipped signature byte is not.
	minted := peer.NewClient()
	if s := getSessionWithCookie(t, ctx, minted, cookies.SessionToken()+"="+auth.SignCookieValue(signIn.Token, testSecret)); s == nil || s.User.ID != signUp.User.ID {
		t.Fatalf("Go-minted cookie: get-session = %+v", s)
	}
	bad := auth.SignValue(signIn.Token, testSecret)
	// Change a character well inside the signature: the last one before "="
	// also carries padding bits that lenient base64 decoders ignore.
	i := len(bad) - 10
	swap := byte('A')
	if bad[i] == 'A' {
		swap = 'B'
	}
	bad = bad[:i] + string(swap) + bad[i+1:]
	if s := getSessionWithCookie(t, ctx, minted, cookies.SessionToken()+"="+bad); s != nil {
		t.Fatalf("tampered cookie accepted: %+v", s)
	}

	// Go → Better Auth: a scrypt hash written by Go signs in on Better Auth.
	const newPassword = "ｎｅｗ ｐａｓｓｗｏｒｄ 🔑" // full width: NFKC must agree too
	h, err := auth.HashPassword(newPassword, auth.Scrypt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE account SET password = $1 WHERE "userId" = $2 AND "providerId" = 'credential'`, h, signUp.User.ID); err != nil {
		t.Fatal(err)
	}
	res, err = peer.NewClient().PostJSON(ctx, "/api/auth/sign-in/email", map[string]any{"email": "ada@example.com", "password": "new password 🔑"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("sign-in with a Go-written hash (NFKC form): %d %s", res.Status, res.Body)
	}
	res, err = peer.NewClient().PostJSON(ctx, "/api/auth/sign-in/email", map[string]any{"email": "ada@example.com", "password": password})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusUnauthorized || !strings.Contains(string(res.Body), "INVALID_EMAIL_OR_PASSWORD") {
		t.Fatalf("old password after Go rehash: %d %s", res.Status, res.Body)
	}

	// Sign-out sends the three expiring cookies shared/auth describes.
	res, err = other.PostJSON(ctx, "/api/auth/sign-out", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("sign-out: %d %s", res.Status, res.Body)
	}
	for _, exp := range cookies.ExpireSession() {
		line := setCookieLine(t, res, exp.Name)
		if !strings.HasPrefix(line, exp.Name+"=;") || !strings.Contains(line, "Max-Age=0") {
			t.Errorf("sign-out Set-Cookie for %s = %q", exp.Name, line)
		}
	}
	if s := getSession(t, ctx, other); s != nil {
		t.Fatalf("session survived sign-out: %+v", s)
	}
}

// TestPeerRequiresOriginForCookiePosts makes sure the harness does not run
// Better Auth with its checks off (they switch off under NODE_ENV=test).
func TestPeerRequiresOriginForCookiePosts(t *testing.T) {
	dbURL := startPostgres(t)
	applySchema(t, dbURL)
	t.Setenv("NODE_ENV", "test")
	t.Setenv("TEST", "1")
	peer := Start(t, dbURL, testSecret, testBaseURL, WithTrustedOrigins("http://app.example"))
	ctx := context.Background()
	cookies := auth.NewCookies(testBaseURL)

	post := func(origin string) *Response {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/api/auth/sign-out", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Cookie", cookies.SessionToken()+"="+auth.SignCookieValue(auth.GenerateID(32), testSecret))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := peer.NewClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for origin, want := range map[string]int{
		"":                    http.StatusForbidden,
		"http://evil.example": http.StatusForbidden,
		"http://app.example":  http.StatusOK,
		testBaseURL:           http.StatusOK,
	} {
		if res := post(origin); res.Status != want {
			t.Errorf("sign-out with Origin %q: %d %s, want %d", origin, res.Status, res.Body, want)
		}
	}
}

func getSession(t *testing.T, ctx context.Context, c *Client) *sessionBody {
	t.Helper()
	res, err := c.Get(ctx, "/api/auth/get-session")
	if err != nil {
		t.Fatal(err)
	}
	return decodeSession(t, res)
}

func getSessionWithCookie(t *testing.T, ctx context.Context, c *Client, cookie string) *sessionBody {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/api/auth/get-session", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Cookie", cookie)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decodeSession(t, res)
}

func decodeSession(t *testing.T, res *Response) *sessionBody {
	t.Helper()
	if res.Status != http.StatusOK {
		t.Fatalf("get-session: %d %s", res.Status, res.Body)
	}
	var s *sessionBody
	if err := res.JSON(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// setCookieLine returns the raw Set-Cookie header for name, so attributes
// can be compared as Better Auth wrote them.
func setCookieLine(t *testing.T, res *Response, name string) string {
	t.Helper()
	for _, line := range res.Header.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	t.Fatalf("no Set-Cookie for %s in %q", name, res.Header.Values("Set-Cookie"))
	return ""
}
