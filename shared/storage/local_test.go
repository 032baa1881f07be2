package storage

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-local-test")

// newLocalServer runs LocalHandler on a real 127.0.0.1 listener whose
// address is the store's BaseURL.
func newLocalServer(t *testing.T, dir string, secret []byte, maxPut int64) (*Local, *httptest.Server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	l, err := NewLocal(LocalConfig{
		Dir: dir, BaseURL: "http://" + srv.Listener.Addr().String(), Secret: secret, MaxPutSize: maxPut,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = LocalHandler(l)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		l.Close()
	})
	return l, srv
}

func TestLocalStore(t *testing.T) {
	l, _ := newLocalServer(t, t.TempDir(), testSecret, 0)
	runStoreSuite(t, l)
}

func TestLocalConfigRefused(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]LocalConfig{
		"no dir":       {BaseURL: "http://x", Secret: testSecret},
		"short secret": {Dir: dir, BaseURL: "http://x", Secret: []byte("short")},
		"no base url":  {Dir: dir, Secret: testSecret},
	} {
		if _, err := NewLocal(cfg); err == nil {
			t.Errorf("%s: NewLocal accepted %+v", name, cfg)
		}
	}
}

func TestLocalWrongSecret(t *testing.T) {
	dir := t.TempDir()
	l, _ := newLocalServer(t, dir, testSecret, 0)
	ctx := context.Background()
	if err := l.Put(ctx, "k/a.txt", strings.NewReader("abc"), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	// Same directory and address, different secret: its links are refused.
	other, err := NewLocal(LocalConfig{Dir: dir, BaseURL: l.baseURL, Secret: []byte(strings.Repeat("z", 40))})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	u, _, err := other.URL(ctx, "k/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	code, body, _ := httpDo(t, http.MethodGet, u, nil, nil)
	if code != http.StatusForbidden || !strings.Contains(string(body), `"invalid_signature"`) {
		t.Fatalf("foreign-secret GET: %d %s", code, body)
	}
	req, err := other.PresignPut(ctx, "k/b.txt", 3, "text/plain", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := httpDo(t, req.Method, req.URL, req.Headers, []byte("xyz")); code != http.StatusForbidden {
		t.Fatalf("foreign-secret PUT: %d %s", code, body)
	}
	mustNotExist(t, l, "k/b.txt")
	// No signature at all.
	if code, _, _ := httpDo(t, http.MethodGet, l.baseURL+"/files/k/a.txt", nil, nil); code != http.StatusForbidden {
		t.Fatalf("unsigned GET: %d", code)
	}
}

func TestLocalExpiredLinks(t *testing.T) {
	l, _ := newLocalServer(t, t.TempDir(), testSecret, 0)
	ctx := context.Background()
	if err := l.Put(ctx, "old/a.txt", strings.NewReader("abc"), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	// Sign as if it were two hours ago: a one-hour link is then stale.
	l.now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
	u, _, err := l.URL(ctx, "old/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	put, err := l.PresignPut(ctx, "old/b.txt", 3, "text/plain", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	l.now = time.Now
	if code, body, _ := httpDo(t, http.MethodGet, u, nil, nil); code != http.StatusForbidden || !strings.Contains(string(body), "link_expired") {
		t.Fatalf("expired GET: %d %s", code, body)
	}
	if code, body, _ := httpDo(t, put.Method, put.URL, put.Headers, []byte("abc")); code != http.StatusForbidden || !strings.Contains(string(body), "link_expired") {
		t.Fatalf("expired PUT: %d %s", code, body)
	}
	mustNotExist(t, l, "old/b.txt")
}

func TestLocalServedHeaders(t *testing.T) {
	l, _ := newLocalServer(t, t.TempDir(), testSecret, 0)
	ctx := context.Background()
	tests := []struct {
		key, stored, wantType, wantDisposition string
		wantCSP                                bool
	}{
		{"h/pic.png", "image/png", "image/png", `inline; filename=pic.png`, true},
		{"h/doc.pdf", "application/pdf", "application/pdf", `inline; filename=doc.pdf`, false},
		{"h/note.txt", "text/plain", "text/plain; charset=utf-8", `inline; filename=note.txt`, true},
		{"h/clip.webm", "video/webm", "video/webm", `inline; filename=clip.webm`, true},
		{"h/page.html", "text/html", "text/html", `attachment; filename=page.html`, true},
		{"h/draw.svg", "image/svg+xml", "image/svg+xml", `attachment; filename=draw.svg`, true},
		{"h/blob", "application/octet-stream", "application/octet-stream", `attachment; filename=blob`, true},
		{"h/bad-type", "not a type", "application/octet-stream", `attachment; filename=bad-type`, true},
	}
	for _, tc := range tests {
		if err := l.Put(ctx, tc.key, strings.NewReader("data"), 4, tc.stored); err != nil {
			t.Fatal(err)
		}
		u, _, err := l.URL(ctx, tc.key)
		if err != nil {
			t.Fatal(err)
		}
		code, body, h := httpDo(t, http.MethodGet, u, nil, nil)
		if code != http.StatusOK || string(body) != "data" {
			t.Fatalf("%s: %d %q", tc.key, code, body)
		}
		if got := h.Get("Content-Type"); got != tc.wantType {
			t.Errorf("%s: Content-Type %q, want %q", tc.key, got, tc.wantType)
		}
		if got := h.Get("Content-Disposition"); got != tc.wantDisposition {
			t.Errorf("%s: Content-Disposition %q, want %q", tc.key, got, tc.wantDisposition)
		}
		if got := h.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", tc.key, got)
		}
		if got := h.Get("Content-Security-Policy") != ""; got != tc.wantCSP {
			t.Errorf("%s: CSP present %v, want %v", tc.key, got, tc.wantCSP)
		}
		if cc := h.Get("Cache-Control"); !strings.HasPrefix(cc, "private, max-age=") || cc == "private, max-age=0" {
			t.Errorf("%s: Cache-Control %q", tc.key, cc)
		}
	}

	// Audio and video players seek with Range requests.
	if err := l.Put(ctx, "h/song.mp3", strings.NewReader("0123456789"), 10, "audio/mpeg"); err != nil {
		t.Fatal(err)
	}
	u, _, _ := l.URL(ctx, "h/song.mp3")
	code, body, _ := httpDo(t, http.MethodGet, u, http.Header{"Range": {"bytes=2-4"}}, nil)
	if code != http.StatusPartialContent || string(body) != "234" {
		t.Fatalf("range: %d %q", code, body)
	}
}

func TestLocalHandlerRefusals(t *testing.T) {
	l, srv := newLocalServer(t, t.TempDir(), testSecret, 8)
	ctx := context.Background()

	// Over the configured limit, even with a valid signature.
	req, err := l.PresignPut(ctx, "lim/big.txt", 9, "text/plain", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code, body, _ := httpDo(t, req.Method, req.URL, req.Headers, []byte("123456789")); code != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), `"too_large"`) {
		t.Fatalf("over limit: %d %s", code, body)
	}
	mustNotExist(t, l, "lim/big.txt")

	// A body of unknown length (chunked) is refused before anything is read.
	req, err = l.PresignPut(ctx, "lim/chunked.txt", 3, "text/plain", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	hreq, _ := http.NewRequest(http.MethodPut, req.URL, struct{ *strings.Reader }{strings.NewReader("abc")})
	hreq.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusLengthRequired {
		t.Fatalf("chunked: %d", resp.StatusCode)
	}

	// Escaped traversal in the path never reaches the file system.
	for _, p := range []string{"/files/a%2F..%2F..%2Fetc%2Fpasswd", "/files/..%2Fmeta%2Fx.json", "/files/%2Fetc%2Fpasswd", "/files/a%00b"} {
		resp, err := http.Get(srv.URL + p + "?exp=9999999999&sig=x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}

// A symlink planted inside the directory cannot lead outside it.
func TestLocalSymlinkEscape(t *testing.T) {
	dir := t.TempDir()
	l, _ := newLocalServer(t, dir, testSecret, 0)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("top secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "objects", "evil.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "meta", "evil.txt.json"), []byte(`{"contentType":"text/plain","size":10}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rc, _, err := l.Open(context.Background(), "evil.txt")
	if err == nil {
		rc.Close()
		t.Fatal("Open followed a symlink out of the store")
	}
	if errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v; want an escape error, not not-found", err)
	}
}

func TestLocalPutLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	l, _ := newLocalServer(t, dir, testSecret, 0)
	ctx := context.Background()
	_ = l.Put(ctx, "t/ok.txt", strings.NewReader("fine"), 4, "text/plain")
	_ = l.Put(ctx, "t/short.txt", strings.NewReader("no"), 4, "text/plain")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Put(cctx, "t/cancelled.txt", strings.NewReader("data"), 4, "text/plain"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put = %v", err)
	}
	left, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("temp files left behind: %v", left)
	}
	mustNotExist(t, l, "t/cancelled.txt")
}

// A presigned PUT works until the key is deleted (the uploads function
// deletes the landing key on /complete); afterwards the still-valid link is
// refused, and so is a validly signed link for a key never presigned here.
func TestLocalPutAfterCompleteRefused(t *testing.T) {
	l, _ := newLocalServer(t, t.TempDir(), testSecret, 0)
	ctx := context.Background()
	req, err := l.PresignPut(ctx, "incoming/u1/a.txt", 3, "text/plain", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a retried PUT before completion is fine
		if code, body, _ := httpDo(t, req.Method, req.URL, req.Headers, []byte("abc")); code != http.StatusOK {
			t.Fatalf("open upload: %d %s", code, body)
		}
	}
	if err := l.Delete(ctx, "incoming/u1/a.txt"); err != nil {
		t.Fatal(err)
	}
	code, body, _ := httpDo(t, req.Method, req.URL, req.Headers, []byte("xyz"))
	if code != http.StatusForbidden || !strings.Contains(string(body), `"upload_closed"`) {
		t.Fatalf("PUT after completion: %d %s", code, body)
	}
	mustNotExist(t, l, "incoming/u1/a.txt")

	exp := time.Now().Add(time.Hour).Unix()
	unknown := l.link("incoming/u1/b.txt", exp, l.signer.sign(http.MethodPut, "incoming/u1/b.txt", exp, 3, "text/plain"))
	code, body, _ = httpDo(t, http.MethodPut, unknown, req.Headers, []byte("abc"))
	if code != http.StatusForbidden || !strings.Contains(string(body), `"upload_closed"`) {
		t.Fatalf("PUT for an unknown upload: %d %s", code, body)
	}
	mustNotExist(t, l, "incoming/u1/b.txt")
}
