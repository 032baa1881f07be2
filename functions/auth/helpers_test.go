package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/functions/auth"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/mailcatch"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

const testSecret = "interop-test-secret-0123456789abcdefghijklmnop"

// server is one instance of the auth function behind platform's middleware,
// on a real loopback listener.
type server struct {
	URL string
	cfg config.Config
	db  *store.DB
	p   *platform.Platform
	// mail is the real SMTP server this instance's mailer sends to.
	mail *mailcatch.Catcher
}

// newServer starts an instance. mod adjusts the configuration; BaseURL is
// the server's own URL unless mod sets another. Its mail goes to a real SMTP
// server on loopback (s.mail) unless mod empties SMTPURL.
func newServer(t *testing.T, mod func(*config.Config)) *server {
	t.Helper()
	cfg := testenv.Config(t)
	cfg.AuthSecret = testSecret
	cfg.RateLimitAuth = 1000
	cfg.RateLimitAPI = 10000
	cfg.SMTPURL = "smtp://127.0.0.1" // the port is the catcher's, below
	srv := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + srv.Listener.Addr().String()
	if mod != nil {
		mod(&cfg)
	}
	return startInstance(t, srv, cfg)
}

// startInstance builds a fresh handler (its own limiter, its own
// middleware) for cfg on srv, sharing only Postgres and Redis.
func startInstance(t *testing.T, srv *httptest.Server, cfg config.Config) *server {
	t.Helper()
	db := testenv.DB(t)
	rdb, _ := testenv.Redis(t)
	p := &platform.Platform{Config: cfg, DB: db, Redis: rdb}
	var catcher *mailcatch.Catcher
	if cfg.SMTPURL != "" {
		var err error
		if catcher, err = mailcatch.Start(mailcatch.Options{}); err != nil {
			t.Fatal(err)
		}
		p.Mailer, err = mailer.New(mailer.Options{Server: mailer.Server{Host: "127.0.0.1", Port: catcherPort(catcher)},
			From: cfg.EmailFrom, Timeout: 5 * time.Second, Backoff: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
	}
	p.Keys.Prefix = cfg.RedisPrefix
	h := auth.New(auth.DepsFrom(p))
	srv.Config.Handler = p.Wrap(h)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		p.Mailer.Shutdown(context.Background())
		if catcher != nil {
			_ = catcher.Close()
		}
	})
	return &server{URL: srv.URL, cfg: cfg, db: db, p: p, mail: catcher}
}

// client is a browser: a cookie jar, no redirects followed, and an Origin
// header on writes (the server's own unless origin is set).
type client struct {
	t      *testing.T
	s      *server
	http   *http.Client
	origin string
}

func (s *server) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, s: s, origin: s.cfg.BaseURL, http: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d %q: %v", r.Status, r.Body, err)
	}
}

// errBody is Better Auth's error shape.
type errBody struct {
	Message string `json:"message"`
	Code    string `json:"code"`
}

func (r *response) err(t *testing.T) errBody {
	t.Helper()
	var e errBody
	r.json(t, &e)
	if e.Code == "" || e.Message == "" {
		t.Fatalf("error body lacks code or message: %s", r.Body)
	}
	return e
}

func (c *client) do(method, path string, body io.Reader, hdr map[string]string) *response {
	c.t.Helper()
	url := path
	if strings.HasPrefix(path, "/") {
		url = c.s.URL + path
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if method != http.MethodGet && c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (c *client) post(path string, v any) *response {
	c.t.Helper()
	b, _ := json.Marshal(v)
	return c.do(http.MethodPost, path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
}

func (c *client) get(path string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, nil)
}

// sessionBody is get-session's answer.
type sessionBody struct {
	Session struct {
		ID        string `json:"id"`
		Token     string `json:"token"`
		UserID    string `json:"userId"`
		ExpiresAt string `json:"expiresAt"`
	} `json:"session"`
	User struct {
		ID            string  `json:"id"`
		Email         string  `json:"email"`
		Name          string  `json:"name"`
		EmailVerified bool    `json:"emailVerified"`
		Image         *string `json:"image"`
	} `json:"user"`
}

// session returns get-session's body, or nil for a 200 null.
func (c *client) session() *sessionBody {
	c.t.Helper()
	res := c.get("/api/auth/get-session")
	if res.Status != 200 {
		c.t.Fatalf("get-session: %d %s", res.Status, res.Body)
	}
	if strings.TrimSpace(string(res.Body)) == "null" {
		return nil
	}
	var s sessionBody
	res.json(c.t, &s)
	return &s
}

// counts is the number of rows in each Better Auth table, to show that a
// refused request changed nothing.
type counts struct{ users, sessions, accounts, verifications int }

func (s *server) counts(t *testing.T) counts {
	t.Helper()
	var c counts
	err := s.db.Pool.QueryRow(context.Background(), `select
		(select count(*) from "user"), (select count(*) from "session"),
		(select count(*) from "account"), (select count(*) from "verification")`).Scan(&c.users, &c.sessions, &c.accounts, &c.verifications)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func uniqueEmail(prefix string) string {
	return prefix + "-" + testenv.RandomID(4) + "@example.com"
}

func setCookie(res *response, name string) (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

func randID() string { return testenv.RandomID(4) }

// randDigits is a random decimal string (GitHub ids are numbers).
func randDigits() string {
	b := testenv.RandomID(4)
	n := 0
	for _, c := range b {
		n = n*16 + strings.IndexRune("0123456789abcdef", c)
	}
	return strconv.Itoa(n)
}

func signedCookie(token string) string { return sa.SignCookieValue(token, testSecret) }

func jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func catcherPort(c *mailcatch.Catcher) string {
	_, port, _ := net.SplitHostPort(c.Addr)
	return port
}
