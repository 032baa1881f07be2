package auth_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestBadInputChangesNothing sends every kind of bad request and checks
// the status, Better Auth's error code, and that no row changed.
func TestBadInputChangesNothing(t *testing.T) {
	s := newServer(t, nil)
	owner := s.client(t)
	email := uniqueEmail("bad")
	up := signUp(t, owner, email, "the right password")
	signed := "better-auth.session_token=" + signedCookie(up.Token)
	json := map[string]string{"Content-Type": "application/json"}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	long := strings.Repeat("p", 129)
	emoji65 := strings.Repeat("😀", 65) // 130 UTF-16 code units
	cases := []struct {
		name   string
		path   string
		body   string
		hdr    map[string]string
		status int
		code   string
		msgHas string
	}{
		{"malformed JSON", "/api/auth/sign-up/email", `{"name":"x",`, json, 400, "BAD_REQUEST", "Invalid JSON in request body"},
		{"wrong content type", "/api/auth/sign-up/email", `{"name":"x"}`, with(nil, "Content-Type", "text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE", "not allowed"},
		{"no content type", "/api/auth/sign-in/email", `{"email":"a@b.co"}`, with(nil, "Content-Type", ""), 415, "UNSUPPORTED_MEDIA_TYPE", "required"},
		{"array body", "/api/auth/sign-up/email", `[1,2]`, json, 400, "BODY_MUST_BE_AN_OBJECT", ""},
		{"missing fields", "/api/auth/sign-up/email", `{}`, json, 400, "VALIDATION_ERROR",
			"[body.name] Invalid input: expected string, received undefined; [body.email] Invalid input: expected string, received undefined; [body.password]"},
		{"empty body", "/api/auth/sign-in/email", ``, json, 400, "VALIDATION_ERROR", "[body.email]"},
		{"wrong type", "/api/auth/sign-up/email", `{"name":5,"email":"x@y.co","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.name] Invalid input: expected string, received number"},
		{"bad rememberMe", "/api/auth/sign-in/email", `{"email":"x@y.co","password":"p","rememberMe":"yes"}`, json, 400, "VALIDATION_ERROR", "[body.rememberMe] Invalid input: expected boolean, received string"},
		{"invalid email on sign-up", "/api/auth/sign-up/email", `{"name":"n","email":"not-an-email","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.email] Invalid email address"},
		{"password too short", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("short") + `","password":"1234567"}`, json, 400, "PASSWORD_TOO_SHORT", "Password too short"},
		{"password too long", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("long") + `","password":"` + long + `"}`, json, 400, "PASSWORD_TOO_LONG", "Password too long"},
		{"emoji password too long", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("emoji") + `","password":"` + emoji65 + `"}`, json, 400, "PASSWORD_TOO_LONG", ""},
		{"existing email", "/api/auth/sign-up/email", `{"name":"n","email":"` + email + `","password":"long enough pw"}`, json, 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", ""},
		{"untrusted callbackURL", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("cb") + `","password":"long enough pw","callbackURL":"https://evil.example/"}`, json, 403, "INVALID_CALLBACK_URL", "Invalid callbackURL"},
		{"invalid email on sign-in", "/api/auth/sign-in/email", `{"email":"nope","password":"whatever"}`, json, 400, "INVALID_EMAIL", "Invalid email"},
		{"empty password on sign-in", "/api/auth/sign-in/email", `{"email":"` + email + `","password":""}`, json, 400, "VALIDATION_ERROR", "[body.password] Too small: expected string to have >=1 characters"},
		{"sign-in password too long", "/api/auth/sign-in/email", `{"email":"` + email + `","password":"` + long + `"}`, json, 400, "PASSWORD_TOO_LONG", ""},
		{"wrong password", "/api/auth/sign-in/email", `{"email":"` + email + `","password":"the wrong password"}`, json, 401, "INVALID_EMAIL_OR_PASSWORD", ""},
		{"oversized body", "/api/auth/sign-up/email", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, json, 413, "PAYLOAD_TOO_LARGE", ""},
		{"cross-origin POST with cookie", "/api/auth/sign-out", `{}`, with(json, "Cookie", signed, "Origin", "http://evil.example"), 403, "INVALID_ORIGIN", "Invalid origin"},
		{"POST with cookie, no origin", "/api/auth/revoke-other-sessions", `{}`, with(json, "Cookie", signed, "Origin", ""), 403, "MISSING_OR_NULL_ORIGIN", ""},
		{"null origin", "/api/auth/change-password", `{"currentPassword":"the right password","newPassword":"hijacked password"}`, with(json, "Cookie", signed, "Origin", "null"), 403, "MISSING_OR_NULL_ORIGIN", ""},
		{"cross-origin sign-in with cookie", "/api/auth/sign-in/email", `{"email":"` + email + `","password":"the right password"}`, with(json, "Cookie", signed, "Origin", "http://evil.example"), 403, "INVALID_ORIGIN", ""},
		{"cross-site form login", "/api/auth/sign-in/email", `email=` + email + `&password=the+right+password`, with(nil, "Content-Type", "application/x-www-form-urlencoded", "Origin", "", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"), 403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED", ""},
		{"cross-origin sign-up without cookie", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("xo") + `","password":"long enough pw"}`, with(json, "Origin", "http://evil.example"), 403, "INVALID_ORIGIN", ""},
		{"tampered cookie", "/api/auth/revoke-other-sessions", `{}`, with(json, "Cookie", signed[:len(signed)-8]+"AAAAA%3D"), 401, "UNAUTHORIZED", "Unauthorized"},
		{"change-password signed out", "/api/auth/change-password", `{"currentPassword":"the right password","newPassword":"hijacked password"}`, json, 401, "UNAUTHORIZED", ""},
		{"revoke-session without token", "/api/auth/revoke-session", `{}`, with(json, "Cookie", signed), 400, "VALIDATION_ERROR", "[body.token]"},
		// Hostile text: one check in the body reader covers every field.
		{"NUL in sign-up name", "/api/auth/sign-up/email", `{"name":"a\u0000b","email":"` + uniqueEmail("nul") + `","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.name] contains U+0000"},
		{"NUL in form name", "/api/auth/sign-up/email", `name=a%00b&email=` + uniqueEmail("nulf") + `&password=long+enough+pw`, with(nil, "Content-Type", "application/x-www-form-urlencoded"), 400, "VALIDATION_ERROR", "[body.name] contains U+0000"},
		{"bad UTF-8 in form", "/api/auth/sign-in/email", `email=%ff%fe&password=x`, with(nil, "Content-Type", "application/x-www-form-urlencoded"), 400, "VALIDATION_ERROR", "[body.email] is not valid UTF-8"},
		{"lone surrogate", "/api/auth/sign-up/email", `{"name":"\ud800","email":"` + uniqueEmail("sur") + `","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.name] contains a lone UTF-16 surrogate escape"},
		{"truncated UTF-8", "/api/auth/sign-in/email", "{\"email\":\"a@b.co\xe2\x82\",\"password\":\"x\"}", json, 400, "VALIDATION_ERROR", "[body.email] is not valid UTF-8"},
		{"NUL in revoke token", "/api/auth/revoke-session", `{"token":"\u0000"}`, with(json, "Cookie", signed), 400, "VALIDATION_ERROR", "[body.token] contains U+0000"},
		{"NUL in query", "/api/auth/sign-up/email?x=%00", `{}`, json, 400, "VALIDATION_ERROR", "[query.x] contains U+0000"},
		// Profile input: names and images are shown to other users.
		{"name too long", "/api/auth/sign-up/email", `{"name":"` + strings.Repeat("n", 101) + `","email":"` + uniqueEmail("nl") + `","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.name] Too big"},
		{"name blank", "/api/auth/sign-up/email", `{"name":"   ","email":"` + uniqueEmail("nb") + `","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.name] Too small"},
		{"name with control character", "/api/auth/sign-up/email", `{"name":"a\u001bb","email":"` + uniqueEmail("nc") + `","password":"long enough pw"}`, json, 400, "VALIDATION_ERROR", "[body.name] Invalid input"},
		{"form name with newline", "/api/auth/sign-up/email", `name=a%0Ab&email=` + uniqueEmail("nf") + `&password=long+enough+pw`, with(nil, "Content-Type", "application/x-www-form-urlencoded"), 400, "VALIDATION_ERROR", "[body.name] Invalid input"},
		{"javascript image", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("ij") + `","password":"long enough pw","image":"javascript:alert(1)"}`, json, 400, "VALIDATION_ERROR", "[body.image]"},
		{"image too long", "/api/auth/sign-up/email", `{"name":"n","email":"` + uniqueEmail("il") + `","password":"long enough pw","image":"https://x.example/` + strings.Repeat("a", 2040) + `"}`, json, 400, "VALIDATION_ERROR", "[body.image] Invalid input: at most 2048 bytes"},
	}
	before := s.counts(t)
	c := s.client(t)
	for _, tc := range cases {
		res := c.do(http.MethodPost, tc.path, strings.NewReader(tc.body), tc.hdr)
		if res.Status != tc.status {
			t.Errorf("%s: status %d, want %d (%s)", tc.name, res.Status, tc.status, res.Body)
			continue
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %q", tc.name, ct)
		}
		e := res.err(t)
		if e.Code != tc.code || !strings.Contains(e.Message, tc.msgHas) {
			t.Errorf("%s: %+v, want code %s message containing %q", tc.name, e, tc.code, tc.msgHas)
		}
		if strings.Contains(e.Message, "pq:") || strings.Contains(e.Message, "SQLSTATE") {
			t.Errorf("%s: internal detail leaked: %s", tc.name, e.Message)
		}
	}
	if after := s.counts(t); after != before {
		t.Fatalf("bad requests changed rows: %+v -> %+v", before, after)
	}
	if owner.session() == nil {
		t.Fatal("the owner's session was ended by a refused request")
	}
	if res := s.client(t).post("/api/auth/sign-in/email", map[string]any{"email": email, "password": "the right password"}); res.Status != 200 {
		t.Fatalf("password changed by a refused request: %d", res.Status)
	}
}
