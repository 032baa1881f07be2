package auth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// fakeProvider is a local OAuth2 provider speaking Google's and GitHub's
// wire formats: an authorize endpoint that redirects back with a code, a
// form-encoded token endpoint that checks the client secret, redirect URI
// and PKCE verifier and answers JSON, and the profile endpoints (Google
// userinfo; GitHub /user and /user/emails).
type fakeProvider struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	codes map[string]grant      // code -> grant, single use
	users map[string]fakeUser   // access token -> user
	next  fakeUser              // who signs in at the next authorize
	seen  map[string]url.Values // last query per path, for assertions
}

type fakeUser struct {
	ID            string // Google sub, GitHub numeric id
	Login, Name   string
	Email         string
	EmailVerified bool
	Picture       string
	// PublicEmail: GitHub shows the email on /user too (else only in /user/emails).
	PublicEmail bool
}

type grant struct {
	user                           fakeUser
	challenge, redirectURI, client string
}

const (
	fakeClientID     = "client-123"
	fakeClientSecret = "secret-456"
)

func newFakeProvider(t *testing.T) *fakeProvider {
	f := &fakeProvider{t: t, codes: map[string]grant{}, users: map[string]fakeUser{}, seen: map[string]url.Values{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /userinfo", f.userinfo)
	mux.HandleFunc("GET /user", f.githubUser)
	mux.HandleFunc("GET /user/emails", f.githubEmails)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProvider) signInAs(u fakeUser) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next = u
}

func (f *fakeProvider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.seen["/authorize"] = q
	f.mu.Unlock()
	if q.Get("response_type") != "code" || q.Get("client_id") != fakeClientID || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("redirect_uri") == "" {
		http.Error(w, "bad authorize request", http.StatusBadRequest)
		return
	}
	code := testenv.RandomID(12)
	f.mu.Lock()
	f.codes[code] = grant{user: f.next, challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), client: q.Get("client_id")}
	f.mu.Unlock()
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		tokenError(w, "invalid_request", "form body required")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "bad form")
		return
	}
	f.mu.Lock()
	g, ok := f.codes[r.PostForm.Get("code")]
	delete(f.codes, r.PostForm.Get("code"))
	f.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !ok:
		tokenError(w, "invalid_grant", "unknown or used code")
	case r.PostForm.Get("client_id") != fakeClientID || r.PostForm.Get("client_secret") != fakeClientSecret:
		tokenError(w, "invalid_client", "bad client")
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		tokenError(w, "invalid_grant", "redirect_uri mismatch")
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant", "PKCE verification failed")
	default:
		at := "at-" + testenv.RandomID(8)
		f.mu.Lock()
		f.users[at] = g.user
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": at, "token_type": "Bearer", "expires_in": 3599,
			"scope": "openid https://www.googleapis.com/auth/userinfo.email", "refresh_token": "rt-" + testenv.RandomID(8),
			"id_token": "eyJhbGciOiJub25lIn0.e30.",
		})
	}
}

func tokenError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (f *fakeProvider) bearer(w http.ResponseWriter, r *http.Request) (fakeUser, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	u, known := f.users[tok]
	f.mu.Unlock()
	if !ok || !known {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"Bad credentials"}`))
		return u, false
	}
	return u, true
}

func (f *fakeProvider) userinfo(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"sub": u.ID, "email": u.Email, "email_verified": u.EmailVerified,
		"name": u.Name, "picture": u.Picture})
}

func (f *fakeProvider) githubUser(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	if r.Header.Get("User-Agent") == "" {
		http.Error(w, "User-Agent required", http.StatusForbidden)
		return
	}
	var email any
	if u.PublicEmail {
		email = u.Email
	}
	w.Header().Set("Content-Type", "application/json")
	// GitHub's id is a JSON number.
	_, _ = w.Write([]byte(`{"login":` + quote(u.Login) + `,"id":` + u.ID + `,"avatar_url":` + quote(u.Picture) +
		`,"name":` + quote(u.Name) + `,"email":` + mustJSON(email) + `}`))
}

func (f *fakeProvider) githubEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := f.bearer(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode([]map[string]any{
		{"email": "noreply-" + u.ID + "@users.noreply.github.com", "primary": false, "verified": true, "visibility": nil},
		{"email": u.Email, "primary": true, "verified": u.EmailVerified, "visibility": "private"},
	})
}

func quote(s string) string { return mustJSON(s) }

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
