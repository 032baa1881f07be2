package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/server"
	"github.com/ari-chat/ari-server/shared/config"
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
	p, api, page, other := sameSite(t, false)

	var got struct {
		Origin  string   `json:"origin"`
		Email   string   `json:"email"`
		SignUp  pageCall `json:"signUp"`
		Session pageCall `json:"session"`
		Group   pageCall `json:"group"`
		Error   string   `json:"error"`
	}
	browser.Run(t, page+"/cors.html?api="+url.QueryEscape(api), pageTimeout, &got)
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
	browser.Run(t, other+"/cors.html?api="+url.QueryEscape(api), pageTimeout, &refused)
	if refused.Error == "" {
		t.Fatalf("an untrusted origin read the API's answers: %+v", refused)
	}
	var n int
	if err := p.DB.Pool.QueryRow(t.Context(), `select count(*) from "user" where email = $1`, refused.Email).Scan(&n); err != nil || n != 0 {
		t.Fatalf("an untrusted origin's sign-up was stored: %d %v", n, err)
	}
}

// shimFor builds the platform of cfg and its shim, with a relay of its own
// behind /ws when withRelay is set.
// sameSite serves the shim (with a relay when withRelay) on an API origin and
// the test pages on two more origins of the same site, page trusted and other
// not, and returns the three origins.
func sameSite(t *testing.T, withRelay bool) (p *platform.Platform, api, page, other string) {
	apiLn, apiPort := loopback(t)
	pageLn, pagePort := loopback(t)
	otherLn, otherPort := loopback(t)
	api, page, other = "http://localhost:"+apiPort, "http://localhost:"+pagePort, "http://localhost:"+otherPort
	cfg := testenv.Config(t)
	cfg.BaseURL = api
	cfg.TrustedOrigins = []string{page}
	p, h := shimFor(t, cfg, withRelay)
	serveTest(t, apiLn, h)
	serveTest(t, pageLn, pages())
	serveTest(t, otherLn, pages())
	return p, api, page, other
}

func shimFor(t *testing.T, cfg config.Config, withRelay bool) (*platform.Platform, http.Handler) {
	t.Helper()
	p, err := platform.FromConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	if withRelay {
		startRelay(t, p)
	}
	h, err := shim(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// startRelay runs a relay instance in this process on p's configuration
// (hub, sweeper and all, until the test ends) and points p's shim at it.
func startRelay(t *testing.T, p *platform.Platform) {
	t.Helper()
	relay := server.New(server.Deps{Config: p.Config, DB: p.DB, Redis: p.Redis, Keys: p.Keys, Log: p.Log,
		InstanceID: "test-" + testenv.RandomID(4), Health: p.HealthChecks()})
	ln, port := loopback(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- relay.Run(ctx, ln, platform.Wrap(relay.Handler())) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("relay: %v", err)
			}
		case <-time.After(p.Config.ShutdownGrace + 5*time.Second):
			t.Error("the relay did not stop")
		}
	})
	p.Config.RelayURL = "http://127.0.0.1:" + port
}

// TestBrowserCrossSiteSocketTicket: a web app on another site than the API
// (page on http://127.0.0.1:B, API and relay behind http://localhost:A: other
// host names, so other sites) cannot use the SameSite=Lax session cookie, so
// it keeps the bearer token sign-up returns, gets a socket ticket with it,
// opens the WebSocket without credentials and authenticates it by sending
// the ticket as the first frame; then it sends a message and reads its ack.
// All in headless Chromium; the ticket works once.
func TestBrowserCrossSiteSocketTicket(t *testing.T) {
	apiLn, apiPort := loopback(t)
	pageLn, pagePort := loopback(t)
	api := "http://localhost:" + apiPort
	cfg := testenv.Config(t)
	cfg.BaseURL = api
	cfg.TrustedOrigins = []string{"http://127.0.0.1:" + pagePort}
	p, h := shimFor(t, cfg, true)
	serveTest(t, apiLn, h)
	serveTest(t, pageLn, pages())

	type round struct {
		Protocol  string         `json:"protocol"`
		Seen      []string       `json:"seen"`
		Last      map[string]any `json:"last"`
		CloseCode int            `json:"closeCode"`
	}
	var got struct {
		Origin        string   `json:"origin"`
		Email         string   `json:"email"`
		SignUp        pageCall `json:"signUp"`
		CookieSession pageCall `json:"cookieSession"`
		Group         pageCall `json:"group"`
		Ticket        pageCall `json:"ticket"`
		Socket        round    `json:"socket"`
		Again         round    `json:"again"`
		Error         string   `json:"error"`
	}
	browser.Run(t, "http://127.0.0.1:"+pagePort+"/ticket.html?api="+url.QueryEscape(api), pageTimeout, &got)
	if got.Error != "" {
		t.Fatalf("page failed: %s (%+v)", got.Error, got)
	}
	if got.SignUp.Status != http.StatusOK || got.SignUp.Body["token"] == nil {
		t.Fatalf("sign-up from %s: %d %v", got.Origin, got.SignUp.Status, got.SignUp.Body)
	}
	if got.CookieSession.Status != http.StatusOK || got.CookieSession.Body != nil {
		t.Fatalf("a cross-site fetch carried the session cookie: %d %v", got.CookieSession.Status, got.CookieSession.Body)
	}
	if got.Group.Status != http.StatusCreated || got.Ticket.Status != http.StatusOK {
		t.Fatalf("bearer calls: group %d %v, ticket %d %v", got.Group.Status, got.Group.Body, got.Ticket.Status, got.Ticket.Body)
	}
	ack := got.Socket.Last
	msg, _ := ack["message"].(map[string]any)
	if got.Socket.Protocol != "ari.v1" || ack["type"] != "message_ack" || msg["content"] != "hello from "+got.Origin {
		t.Fatalf("socket: %+v", got.Socket)
	}
	var sender string
	if err := p.DB.Pool.QueryRow(t.Context(), `select u.email from messages m join "user" u on u.id = m.sender_user_id where m.id = $1`,
		msg["id"]).Scan(&sender); err != nil || sender != got.Email {
		t.Fatalf("the message is not stored as the page's user's: %q %v", sender, err)
	}
	if got.Again.Last["type"] != "auth_error" || got.Again.Last["code"] != "unauthorized" {
		t.Fatalf("a used ticket opened a socket: %+v", got.Again)
	}
}

// TestBrowserSameSiteSocket: a page on a trusted origin of the API's site
// signs up with a cookie session and opens the WebSocket with nothing but
// that cookie (no ticket, no header); it sends a message and reads its ack.
// A frame from an untrusted origin of the same site, whose upgrade carries
// the same cookie, is refused: the socket never opens (close 1006).
func TestBrowserSameSiteSocket(t *testing.T) {
	p, api, page, other := sameSite(t, true)

	type round struct {
		Origin    string         `json:"origin"`
		Opened    bool           `json:"opened"`
		Protocol  string         `json:"protocol"`
		Seen      []string       `json:"seen"`
		Last      map[string]any `json:"last"`
		CloseCode int            `json:"closeCode"`
	}
	var got struct {
		Origin    string   `json:"origin"`
		Email     string   `json:"email"`
		SignUp    pageCall `json:"signUp"`
		Group     pageCall `json:"group"`
		Socket    round    `json:"socket"`
		Untrusted round    `json:"untrusted"`
		Error     string   `json:"error"`
	}
	browser.Run(t, page+"/socket.html?api="+url.QueryEscape(api)+"&other="+url.QueryEscape(other), pageTimeout, &got)
	if got.Error != "" {
		t.Fatalf("page failed: %s (%+v)", got.Error, got)
	}
	if got.SignUp.Status != http.StatusOK || got.Group.Status != http.StatusCreated {
		t.Fatalf("sign-up %d %v, group %d %v", got.SignUp.Status, got.SignUp.Body, got.Group.Status, got.Group.Body)
	}
	ack := got.Socket.Last
	msg, _ := ack["message"].(map[string]any)
	if !got.Socket.Opened || got.Socket.Protocol != "ari.v1" || ack["type"] != "message_ack" || msg["content"] != "hello from "+got.Origin {
		t.Fatalf("cookie socket: %+v", got.Socket)
	}
	var sender string
	if err := p.DB.Pool.QueryRow(t.Context(), `select u.email from messages m join "user" u on u.id = m.sender_user_id where m.id = $1`,
		msg["id"]).Scan(&sender); err != nil || sender != got.Email {
		t.Fatalf("the message is not stored as the page's user's: %q %v", sender, err)
	}
	if got.Untrusted.Origin != other || got.Untrusted.Opened || len(got.Untrusted.Seen) != 0 || got.Untrusted.CloseCode != 1006 {
		t.Fatalf("a socket from an untrusted origin: %+v", got.Untrusted)
	}
}
