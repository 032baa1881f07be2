package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/browser"
)

// pageTimeout bounds how long a browser page may take to report.
const pageTimeout = 30 * time.Second

// loopback listens on 127.0.0.1 on a free port; tests name it by
// "localhost" or "127.0.0.1" to get two sites out of one address.
func loopback(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// serveTest runs h on ln until the test ends.
func serveTest(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}}
	srv.Start()
	t.Cleanup(srv.Close)
}

// pages serves local/testdata/browser: the test pages.
func pages() http.Handler { return http.FileServer(http.Dir("testdata/browser")) }

type pageCall struct {
	Status int            `json:"status"`
	Body   map[string]any `json:"body"`
}

// TestBrowserCORSSameSite: a page on a second trusted origin of the same
// site (http://localhost:A is the API, http://localhost:B the page: another
// port is another origin but the same site, so the SameSite=Lax session
// cookie rides along) signs up, then POSTs JSON with credentials and reads
// every answer, in headless Chromium. The same page on an origin that is
// not trusted cannot: the preflight grants nothing, fetch throws, and
// nothing is created.
func TestBrowserCORSSameSite(t *testing.T) {
	apiLn, apiPort := loopback(t)
	pageLn, pagePort := loopback(t)
	otherLn, otherPort := loopback(t)
	api := "http://localhost:" + apiPort
	cfg := testenv.Config(t)
	cfg.BaseURL = api
	cfg.TrustedOrigins = []string{"http://localhost:" + pagePort}
	p, err := platform.FromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	h, err := shim(p)
	if err != nil {
		t.Fatal(err)
	}
	serveTest(t, apiLn, h)
	serveTest(t, pageLn, pages())
	serveTest(t, otherLn, pages())

	var got struct {
		Origin  string   `json:"origin"`
		Email   string   `json:"email"`
		SignUp  pageCall `json:"signUp"`
		Session pageCall `json:"session"`
		Group   pageCall `json:"group"`
		Error   string   `json:"error"`
	}
	browser.Run(t, "http://localhost:"+pagePort+"/cors.html?api="+url.QueryEscape(api), pageTimeout, &got)
	if got.Error != "" {
		t.Fatalf("trusted page: fetch failed: %s", got.Error)
	}
	if got.SignUp.Status != http.StatusOK {
		t.Fatalf("sign-up from %s: %d %v", got.Origin, got.SignUp.Status, got.SignUp.Body)
	}
	user, _ := got.Session.Body["user"].(map[string]any)
	if got.Session.Status != http.StatusOK || user["email"] != got.Email {
		t.Fatalf("get-session with the cookie: %d %v", got.Session.Status, got.Session.Body)
	}
	if got.Group.Status != http.StatusCreated || got.Group.Body["title"] != "made from "+got.Origin {
		t.Fatalf("POST /api/groups with credentials: %d %v", got.Group.Status, got.Group.Body)
	}
	var owner string
	if err := p.DB.Pool.QueryRow(t.Context(), `select u.email from conversations c
		join conversation_members m on m.conversation_id = c.id join "user" u on u.id = m.user_id
		where c.id = $1`, got.Group.Body["id"]).Scan(&owner); err != nil || owner != got.Email {
		t.Fatalf("the group is not stored as the page's user's: %q %v", owner, err)
	}

	var refused struct {
		Email string `json:"email"`
		Error string `json:"error"`
	}
	browser.Run(t, "http://localhost:"+otherPort+"/cors.html?api="+url.QueryEscape(api), pageTimeout, &refused)
	if refused.Error == "" {
		t.Fatalf("an untrusted origin read the API's answers: %+v", refused)
	}
	var n int
	if err := p.DB.Pool.QueryRow(t.Context(), `select count(*) from "user" where email = $1`, refused.Email).Scan(&n); err != nil || n != 0 {
		t.Fatalf("an untrusted origin's sign-up was stored: %d %v", n, err)
	}
}
