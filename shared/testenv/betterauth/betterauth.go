// Package betterauth runs a stock Better Auth 1.7 server (from npm, pinned in
// package-lock.json beside this file) as a peer for interop tests: it shares
// the test's Postgres database and secret, so a test can sign up on one side
// and sign in on the other.
package betterauth

import (
	"github.com/ari-chat/ari-server/shared/testenv/npm"

	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Timeouts for bringing the peer up and down. npm ci is slow on a cold cache,
// node starts in well under a second.
const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 5 * time.Second
)

// Peer is a running Better Auth server.
type Peer struct {
	// URL is where the server listens, "http://127.0.0.1:PORT".
	URL string
	// BaseURL and Secret are the values it was started with.
	BaseURL string
	Secret  string

	out *logBuffer
}

// Option adjusts how Start configures the peer.
type Option func(*config)

type config struct {
	trustedOrigins []string
	expiresIn      time.Duration
	updateAge      time.Duration
}

// WithSession sets Better Auth's session.expiresIn and session.updateAge
// (whole seconds; zero keeps Better Auth's default of 7 days and 1 day), so
// a test can run the peer with the same session policy as the Go server.
func WithSession(expiresIn, updateAge time.Duration) Option {
	return func(c *config) { c.expiresIn, c.updateAge = expiresIn, updateAge }
}

// WithTrustedOrigins adds origins to Better Auth's trustedOrigins (the
// baseURL's origin is always trusted).
func WithTrustedOrigins(origins ...string) Option {
	return func(c *config) { c.trustedOrigins = append(c.trustedOrigins, origins...) }
}

// Start runs server.mjs against databaseURL, whose Better Auth tables must
// already exist, and returns once it answers. The process is stopped in
// t.Cleanup; its output is logged if the test failed.
func Start(t testing.TB, databaseURL, secret, baseURL string, opts ...Option) *Peer {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	dir, err := peerDir()
	if err != nil {
		t.Fatalf("betterauth: %v", err)
	}
	if err := ensureNodeModules(dir); err != nil {
		t.Fatalf("betterauth: %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("betterauth: node is not installed: %v", err)
	}
	home, err := os.MkdirTemp("", "betterauth-home-")
	if err != nil {
		t.Fatalf("betterauth: %v", err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(home) })

	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	// A clean environment on purpose: Better Auth silently turns its origin
	// checks off when NODE_ENV=test or TEST is set, and turns rate limits on
	// under NODE_ENV=production; neither may leak in from the caller.
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"NODE_ENV=development",
		"DATABASE_URL=" + databaseURL,
		"BETTER_AUTH_SECRET=" + secret,
		"BETTER_AUTH_URL=" + baseURL,
		"PEER_TRUSTED_ORIGINS=" + strings.Join(cfg.trustedOrigins, ","),
		"PEER_SESSION_EXPIRES_IN=" + seconds(cfg.expiresIn),
		"PEER_SESSION_UPDATE_AGE=" + seconds(cfg.updateAge),
		"PEER_HOST=127.0.0.1",
		"PEER_PORT=0",
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &logBuffer{ready: make(chan string, 1)}
	cmd.Stdout = out
	cmd.Stderr = out
	// server.mjs exits when its stdin closes, so a test binary that dies
	// without running its cleanups does not leave a node process behind.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("betterauth: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("betterauth: start node: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	p := &Peer{BaseURL: baseURL, Secret: secret, out: out}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("betterauth peer output:\n%s", out.String())
		}
	})

	select {
	case u := <-out.ready:
		p.URL = u
	case err := <-exited:
		exited <- err // let the cleanup see it too
		t.Fatalf("betterauth: node exited before it was ready (%v):\n%s", err, out.String())
	case <-time.After(readyTimeout):
		t.Fatalf("betterauth: not ready after %v:\n%s", readyTimeout, out.String())
	}
	return p
}

// seconds renders d for the peer's environment; zero is "" (the default).
func seconds(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}

// Output returns everything the peer printed so far.
func (p *Peer) Output() string { return p.out.String() }

// peerDir is the folder holding server.mjs and package.json: the one this
// source file is in.
func peerDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the package source")
	}
	return filepath.Dir(file), nil
}

// ensureNodeModules installs the pinned packages (shared with every other
// test binary through npm's file lock).
func ensureNodeModules(dir string) error { return npm.InstallDir(dir) }

// logBuffer collects the peer's output (bounded, for failure messages) and
// reports the URL from its "READY <url>" line.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	ready   chan string
	sent    bool
}

const maxLog = 1 << 20

func (l *logBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < maxLog {
		l.buf.Write(b)
	}
	if !l.sent {
		l.partial = append(l.partial, b...)
		sc := bufio.NewScanner(bytes.NewReader(l.partial))
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "READY "); ok {
				l.ready <- strings.TrimSpace(u)
				l.sent = true
				l.partial = nil
				break
			}
		}
		if i := bytes.LastIndexByte(l.partial, '\n'); i >= 0 {
			l.partial = l.partial[i+1:]
		}
	}
	return len(b), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Client is a browser-like HTTP client with its own cookie jar. Cookies are
// kept per host, not per port, as browsers do, so one Client can carry a
// session between the peer and a Go server that both listen on 127.0.0.1.
type Client struct {
	peer *Peer
	// HTTP follows no redirects: auth endpoints answer with Location headers
	// that tests want to see.
	HTTP *http.Client
	Jar  http.CookieJar
}

// NewClient returns a Client with an empty cookie jar.
func (p *Peer) NewClient() *Client {
	jar, _ := cookiejar.New(nil) // only fails with a bad PublicSuffixList
	return &Client{
		peer: p,
		Jar:  jar,
		HTTP: &http.Client{
			Jar:     jar,
			Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %d response %q: %w", r.Status, r.Body, err)
	}
	return nil
}

// Cookie returns the named cookie from the response's Set-Cookie headers.
func (r *Response) Cookie(name string) (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// Do sends req through the jar and reads the whole response. A req.URL
// without a host is resolved against the peer's URL.
func (c *Client) Do(req *http.Request) (*Response, error) {
	if req.URL.Host == "" {
		u, err := url.Parse(c.peer.URL + req.URL.RequestURI())
		if err != nil {
			return nil, err
		}
		req.URL, req.Host = u, u.Host
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// PostJSON posts body as JSON to path (relative to the peer, or a full URL)
// with Origin set to the peer's baseURL, as a browser on the app would.
func (c *Client) PostJSON(ctx context.Context, path string, body any) (*Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", origin(c.peer.BaseURL))
	return c.Do(req)
}

// Get sends a GET to path (relative to the peer, or a full URL).
func (c *Client) Get(ctx context.Context, path string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// origin is scheme://host[:port] of a URL, which is what browsers send.
func origin(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if j := strings.IndexByte(u[i+3:], '/'); j >= 0 {
			return u[:i+3+j]
		}
	}
	return u
}

// Mail is a link Better Auth handed to one of its mail callbacks
// (sendResetPassword, sendVerificationEmail).
type Mail struct {
	Kind  string `json:"kind"` // "reset-password" or "verify-email"
	Email string `json:"email"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

// WaitMail returns the latest mail of kind to email the peer has printed,
// waiting up to timeout for one.
func (p *Peer) WaitMail(t testing.TB, kind, email string, timeout time.Duration) Mail {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var found *Mail
		for _, line := range strings.Split(p.Output(), "\n") {
			raw, ok := strings.CutPrefix(line, "MAIL ")
			if !ok {
				continue
			}
			var m Mail
			if json.Unmarshal([]byte(raw), &m) == nil && m.Kind == kind && strings.EqualFold(m.Email, email) {
				found = &m
			}
		}
		if found != nil {
			return *found
		}
		if time.Now().After(deadline) {
			t.Fatalf("betterauth: no %s mail to %s within %v:\n%s", kind, email, timeout, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
