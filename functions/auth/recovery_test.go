package auth_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/golang-jwt/jwt/v5"
)

var linkPattern = regexp.MustCompile(`https?://\S+`)

// mailTo waits (bounded) for the next mail to addr on s's SMTP server and
// returns the link in its plain-text body.
func (s *server) mailTo(t *testing.T, addr string) (subject, link string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, _, err := s.mail.WaitFor(ctx, addr, 0)
	if err != nil {
		t.Fatal(err)
	}
	link = linkPattern.FindString(m.Text)
	if link == "" || !strings.Contains(m.HTML, "href=") {
		t.Fatalf("mail to %s has no link: text %q html %q", addr, m.Text, m.HTML)
	}
	return m.Subject, link
}

func (s *server) mailsTo(addr string) int {
	n := 0
	for _, m := range s.mail.Mails() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				n++
			}
		}
	}
	return n
}

// The whole reset: the mail's link leads to the app with the token, the
// token sets a new password once, and every session of the user ends.
func TestPasswordResetByMail(t *testing.T) {
	s := newServer(t, nil)
	email := uniqueEmail("reset")
	a, b := s.client(t), s.client(t)
	signUp(t, a, email, "old password 1")
	if res := b.post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "old password 1"}); res.Status != 200 {
		t.Fatalf("second sign-in: %d %s", res.Status, res.Body)
	}
	const answer = `{"status":true,"message":"If this email exists in our system, check your email for the reset link"}`
	unknown := uniqueEmail("nobody")
	res := s.client(t).post("/api/auth/request-password-reset", map[string]any{"email": unknown, "redirectTo": "/reset"})
	if res.Status != 200 || strings.TrimSpace(string(res.Body)) != answer {
		t.Fatalf("unknown email: %d %s", res.Status, res.Body)
	}
	res = s.client(t).post("/api/auth/request-password-reset", map[string]any{"email": strings.ToUpper(email), "redirectTo": "/reset"})
	if res.Status != 200 || strings.TrimSpace(string(res.Body)) != answer {
		t.Fatalf("known email: %d %s", res.Status, res.Body)
	}
	subject, link := s.mailTo(t, email)
	if subject != "Reset your Ari password" || !strings.HasPrefix(link, s.cfg.BaseURL+"/api/auth/reset-password/") ||
		!strings.HasSuffix(link, "?callbackURL=%2Freset") {
		t.Fatalf("mail %q with link %q", subject, link)
	}
	if n := s.mailsTo(unknown); n != 0 {
		t.Fatalf("%d mails went to an address without an account", n)
	}
	// The link sends the browser to the app with the token.
	res = s.client(t).get(link)
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.Status != 302 || loc == nil || loc.Path != "/reset" || loc.Query().Get("token") == "" {
		t.Fatalf("reset link: %d Location %q", res.Status, res.Header.Get("Location"))
	}
	token := loc.Query().Get("token")
	var identifier, value string
	if err := s.db.Pool.QueryRow(context.Background(), `select identifier, value from verification where identifier = $1`,
		"reset-password:"+token).Scan(&identifier, &value); err != nil || len(token) != 24 {
		t.Fatalf("verification row for a %d-char token: %v", len(token), err)
	}
	if res := s.client(t).post("/api/auth/reset-password", map[string]any{"newPassword": "short", "token": token}); res.Status != 400 || res.err(t).Code != "PASSWORD_TOO_SHORT" {
		t.Fatalf("short password: %d %s", res.Status, res.Body)
	}
	if res := s.client(t).post("/api/auth/reset-password", map[string]any{"newPassword": "new password 2", "token": token}); res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true}` {
		t.Fatalf("reset: %d %s", res.Status, res.Body)
	}
	if a.session() != nil || b.session() != nil {
		t.Fatal("a session outlived the password reset")
	}
	if res := s.client(t).post("/api/auth/reset-password", map[string]any{"newPassword": "new password 3", "token": token}); res.Status != 400 || res.err(t).Code != "INVALID_TOKEN" {
		t.Fatalf("token used twice: %d %s", res.Status, res.Body)
	}
	if res := s.client(t).get(link); res.Status != 302 || !strings.Contains(res.Header.Get("Location"), "error=INVALID_TOKEN") {
		t.Fatalf("used link: %d %q", res.Status, res.Header.Get("Location"))
	}
	if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "old password 1"}); res.Status != 401 {
		t.Fatalf("old password still works: %d", res.Status)
	}
	if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "new password 2"}); res.Status != 200 {
		t.Fatalf("new password: %d %s", res.Status, res.Body)
	}
}

func TestPasswordResetRefusals(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	for _, tc := range []struct {
		path   string
		body   map[string]any
		status int
		code   string
	}{
		{"/api/auth/request-password-reset", map[string]any{"email": "not-an-email"}, 400, "VALIDATION_ERROR"},
		{"/api/auth/request-password-reset", map[string]any{"email": "a@example.com", "redirectTo": "https://evil.example/x"}, 403, "INVALID_REDIRECT_URL"},
		{"/api/auth/reset-password", map[string]any{"newPassword": "long enough 1"}, 400, "INVALID_TOKEN"},
		{"/api/auth/reset-password", map[string]any{"newPassword": "long enough 1", "token": "nosuchtoken"}, 400, "INVALID_TOKEN"},
		{"/api/auth/reset-password", map[string]any{"newPassword": "long enough 1", "token": "../\u00e9"}, 400, "INVALID_TOKEN"},
		{"/api/auth/reset-password", map[string]any{"token": "x"}, 400, "VALIDATION_ERROR"},
	} {
		before := s.counts(t)
		res := c.post(tc.path, tc.body)
		if res.Status != tc.status || res.err(t).Code != tc.code {
			t.Errorf("%s %v: %d %s; want %d %s", tc.path, tc.body, res.Status, res.Body, tc.status, tc.code)
		}
		if after := s.counts(t); after != before {
			t.Errorf("%s %v changed rows: %+v → %+v", tc.path, tc.body, before, after)
		}
	}
	if res := c.get("/api/auth/reset-password/abc?callbackURL=https://evil.example/"); res.Status != 403 || res.err(t).Code != "INVALID_CALLBACK_URL" {
		t.Errorf("foreign callback: %d %s", res.Status, res.Body)
	}
	if res := c.get("/api/auth/reset-password/abc?callbackURL=/x"); res.Status != 302 || res.Header.Get("Location") != s.cfg.BaseURL+"/x?error=INVALID_TOKEN" {
		t.Errorf("unknown token: %d %q", res.Status, res.Header.Get("Location"))
	}
	// Without SMTP there is no reset, as in Better Auth without sendResetPassword.
	noMail := newServer(t, func(c *config.Config) { c.SMTPURL = "" })
	if res := noMail.client(t).post("/api/auth/request-password-reset", map[string]any{"email": "a@example.com"}); res.Status != 400 || res.err(t).Code != "RESET_PASSWORD_DISABLED" {
		t.Errorf("no SMTP: %d %s", res.Status, res.Body)
	}
}

// Verification: the mail's link marks the address verified and get-session
// shows it; a forged or expired token is refused with Better Auth's codes.
func TestEmailVerificationByMail(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	email := uniqueEmail("verify")
	up := signUp(t, c, email, "password 123")
	if up.User.EmailVerified {
		t.Fatal("new user is verified")
	}
	if res := c.post("/api/auth/send-verification-email", map[string]any{"email": uniqueEmail("other")}); res.Status != 400 || res.err(t).Code != "EMAIL_MISMATCH" {
		t.Fatalf("other address: %d %s", res.Status, res.Body)
	}
	if res := c.post("/api/auth/send-verification-email", map[string]any{"email": email, "callbackURL": "/welcome"}); res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true}` {
		t.Fatalf("send: %d %s", res.Status, res.Body)
	}
	subject, link := s.mailTo(t, email)
	if subject != "Confirm your email address for Ari" || !strings.HasPrefix(link, s.cfg.BaseURL+"/api/auth/verify-email?token=") ||
		!strings.HasSuffix(link, "&callbackURL=%2Fwelcome") {
		t.Fatalf("mail %q link %q", subject, link)
	}
	u, _ := url.Parse(link)
	token := u.Query().Get("token")
	claims := jwt.MapClaims{}
	if _, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return []byte(testSecret), nil }); err != nil ||
		claims["email"] != email || claims["userId"] != up.User.ID {
		t.Fatalf("token claims %v: %v", claims, err)
	}
	res := c.get(link)
	if res.Status != 302 || res.Header.Get("Location") != "/welcome" {
		t.Fatalf("verify: %d %q %s", res.Status, res.Header.Get("Location"), res.Body)
	}
	if got := c.session(); got == nil || !got.User.EmailVerified {
		t.Fatalf("session after verification: %+v", got)
	}
	if res := c.post("/api/auth/send-verification-email", map[string]any{"email": email}); res.Status != 400 || res.err(t).Code != "EMAIL_ALREADY_VERIFIED" {
		t.Fatalf("verified already: %d %s", res.Status, res.Body)
	}
	// Without callbackURL the answer is JSON.
	if res := s.client(t).get("/api/auth/verify-email?token=" + token); res.Status != 200 || strings.TrimSpace(string(res.Body)) != `{"status":true,"user":null}` {
		t.Fatalf("verify again: %d %s", res.Status, res.Body)
	}
	forged := token[:len(token)-2] + "xx"
	if res := s.client(t).get("/api/auth/verify-email?token=" + forged); res.Status != 401 || res.err(t).Code != "INVALID_TOKEN" {
		t.Fatalf("forged: %d %s", res.Status, res.Body)
	}
	expired := mintEmailToken(t, jwt.MapClaims{"email": email, "userId": up.User.ID,
		"iat": time.Now().Add(-2 * time.Hour).Unix(), "exp": time.Now().Add(-time.Hour).Unix()})
	if res := s.client(t).get("/api/auth/verify-email?token=" + expired + "&callbackURL=/done"); res.Status != 302 || res.Header.Get("Location") != "/done?error=TOKEN_EXPIRED" {
		t.Fatalf("expired: %d %q", res.Status, res.Header.Get("Location"))
	}
	if res := s.client(t).get("/api/auth/verify-email?token=x&callbackURL=https://evil.example/"); res.Status != 403 || res.err(t).Code != "INVALID_CALLBACK_URL" {
		t.Fatalf("foreign callback: %d %s", res.Status, res.Body)
	}
	// Signed out: the same answer for an unknown address, and no mail.
	nobody := uniqueEmail("nobody")
	if res := s.client(t).post("/api/auth/send-verification-email", map[string]any{"email": nobody}); res.Status != 200 {
		t.Fatalf("signed out, unknown: %d %s", res.Status, res.Body)
	}
	if n := s.mailsTo(nobody); n != 0 {
		t.Fatalf("%d mails to an unknown address", n)
	}
}

// Mails per address are limited silently (the answer never tells whether
// the address has an account); per client IP the request is refused.
func TestMailLimits(t *testing.T) {
	s := newServer(t, func(c *config.Config) { c.RateLimitEmailPerAddress = 2; c.RateLimitEmailPerIP = 3 })
	email := uniqueEmail("limited")
	signUp(t, s.client(t), email, "password 123")
	for i := range 3 {
		if res := s.client(t).post("/api/auth/request-password-reset", map[string]any{"email": email}); res.Status != 200 {
			t.Fatalf("request %d: %d %s", i+1, res.Status, res.Body)
		}
	}
	res := s.client(t).post("/api/auth/request-password-reset", map[string]any{"email": email})
	if res.Status != 429 || res.err(t).Code != "TOO_MANY_REQUESTS" || res.Header.Get("X-Retry-After") == "" {
		t.Fatalf("fourth request from one IP: %d %s", res.Status, res.Body)
	}
	s.mailTo(t, email)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, _, err := s.mail.WaitFor(ctx, email, 1); err != nil {
		t.Fatal(err)
	}
	if n := s.mailsTo(email); n != 2 {
		t.Fatalf("%d mails to one address with a limit of 2", n)
	}
}

func mintEmailToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	s, err := tok.SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
