package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestRequire(t *testing.T) {
	db := testenv.DB(t)
	const secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	a := &auth.Authenticator{DB: db, Secret: secret, Cookies: auth.NewCookies("http://localhost:3501")}
	u := testenv.NewUser(t, db, "alice")
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := auth.RequestCaller(r)
		if err != nil {
			http.Error(w, "no caller in the context", http.StatusTeapot)
			return
		}
		if _, err := w.Write([]byte(c.ID)); err != nil {
			t.Errorf("write: %v", err)
		}
	}))
	do := func(mod func(*http.Request)) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/x", nil)
		mod(req)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for name, mod := range map[string]func(*http.Request){
		"bare bearer":   func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+u.Token) },
		"signed bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+auth.SignValue(u.Token, secret)) },
		"cookie":        func(r *http.Request) { r.AddCookie(a.Cookies.Session(u.Token, secret, 0)) },
	} {
		if rec := do(mod); rec.Code != 200 || rec.Body.String() != u.ID {
			t.Errorf("%s: %d %s", name, rec.Code, rec.Body)
		}
	}
	for name, mod := range map[string]func(*http.Request){
		"none":          func(r *http.Request) {},
		"unknown token": func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+auth.GenerateID(32)) },
		"tampered signed": func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+auth.SignValue(u.Token, "other-secret-0123456789abcdefghijklmnop"))
		},
		"unsigned cookie": func(r *http.Request) { r.AddCookie(&http.Cookie{Name: a.Cookies.SessionToken(), Value: u.Token}) },
		// Bearer values that are not printable ASCII are no token (they used
		// to reach the session query and answer 500).
		"bearer not UTF-8":  func(r *http.Request) { r.Header.Set("Authorization", "Bearer \xc3\x28") },
		"bearer NUL":        func(r *http.Request) { r.Header["Authorization"] = []string{"Bearer a\x00b"} },
		"bearer high bytes": func(r *http.Request) { r.Header.Set("Authorization", "Bearer \xff\xfe"+u.Token) },
		"bearer inner space": func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+u.Token[:4]+" "+u.Token[4:])
		},
	} {
		if rec := do(mod); rec.Code != 401 {
			t.Errorf("%s: want 401, got %d", name, rec.Code)
		}
	}
	// An expired session is refused and deleted.
	if _, err := db.Pool.Exec(context.Background(), `update "session" set "expiresAt" = now() - interval '1 second' where token = $1`, u.Token); err != nil {
		t.Fatal(err)
	}
	if rec := do(func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+u.Token) }); rec.Code != 401 {
		t.Fatalf("expired: %d", rec.Code)
	}
	var n int
	if err := db.Pool.QueryRow(context.Background(), `select count(*) from "session" where token = $1`, u.Token).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatal("expired session row was not deleted")
	}
}

func TestRequireRefreshesWithPolicy(t *testing.T) {
	db := testenv.DB(t)
	const secret = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	policy := auth.SessionPolicy{ExpiresIn: 30 * 24 * time.Hour, UpdateAge: 24 * time.Hour}
	a := &auth.Authenticator{DB: db, Secret: secret, Cookies: auth.NewCookies("http://localhost:3501"), Policy: policy}
	u := testenv.NewUser(t, db, "refreshed") // a 1-day session: last refreshed 29 days ago by the rule
	h := a.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	expiry := func() time.Time {
		var at time.Time
		if err := db.Pool.QueryRow(context.Background(), `select "expiresAt" from "session" where token = $1`, u.Token).Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	do := func(dontRemember bool) {
		req := httptest.NewRequest("GET", "/x", nil)
		req.Header.Set("Authorization", "Bearer "+u.Token)
		if dontRemember {
			req.AddCookie(a.Cookies.DontRemember(secret))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
	}
	before := expiry()
	do(true)
	if !expiry().Equal(before) {
		t.Fatal("a dont_remember session was extended")
	}
	do(false)
	if d := time.Until(expiry()); d < policy.ExpiresIn-time.Minute {
		t.Fatalf("not extended: expires in %v", d)
	}
	// Within UpdateAge of the refresh, use leaves it alone.
	after := expiry()
	do(false)
	if !expiry().Equal(after) {
		t.Fatal("extended twice within UpdateAge")
	}
}
