package storage_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/storagetest"
)

func newS3(t *testing.T, cfg storage.S3Config) *storage.S3 {
	t.Helper()
	s, err := storage.NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestS3Store(t *testing.T) {
	cfg := storagetest.VersityGW(t)
	storage.RunStoreSuite(t, newS3(t, cfg))
}

func TestS3WrongSecret(t *testing.T) {
	cfg := storagetest.VersityGW(t)
	ctx := context.Background()
	bad := cfg
	bad.SecretAccessKey = "not-the-secret-" + cfg.SecretAccessKey
	s := newS3(t, bad)
	err := s.Put(ctx, "k/x.txt", strings.NewReader("abc"), 3, "text/plain")
	if err == nil || errors.Is(err, storage.ErrSizeMismatch) {
		t.Fatalf("Put with a wrong secret: err = %v, want an auth error", err)
	}
	if _, err := s.Stat(ctx, "k/x.txt"); err == nil || errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat with a wrong secret: err = %v, want an auth error", err)
	}
	// Links signed with the wrong secret are refused by the server.
	req, err := s.PresignPut(ctx, "k/y.txt", 3, "text/plain", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if code := do(t, req.Method, req.URL, req.Headers, "abc"); code != http.StatusForbidden {
		t.Fatalf("PUT signed with wrong secret: %d, want 403", code)
	}
	good := newS3(t, cfg)
	if _, err := good.Stat(ctx, "k/y.txt"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("object stored through a bad link: %v", err)
	}
}

func TestS3ExpiredLink(t *testing.T) {
	cfg := storagetest.VersityGW(t)
	cfg.URLTTL = time.Second
	s := newS3(t, cfg)
	ctx := context.Background()
	if err := s.Put(ctx, "exp/a.txt", strings.NewReader("abc"), 3, "text/plain"); err != nil {
		t.Fatal(err)
	}
	u, exp, err := s.URL(ctx, "exp/a.txt")
	if err != nil {
		t.Fatal(err)
	}
	if code := do(t, http.MethodGet, u, nil, ""); code != http.StatusOK {
		t.Fatalf("fresh link: %d", code)
	}
	time.Sleep(time.Until(exp) + 1100*time.Millisecond)
	if code := do(t, http.MethodGet, u, nil, ""); code != http.StatusForbidden {
		t.Fatalf("expired link: %d, want 403", code)
	}
}

// Offline: how the configuration turns into endpoints and links.
func TestS3Config(t *testing.T) {
	ctx := context.Background()
	r2 := newS3(t, storage.S3Config{
		AccountID: "0123abcd", Bucket: "media", AccessKeyID: "AK", SecretAccessKey: "SK",
	})
	u, exp, err := r2.URL(ctx, "a/b.png")
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Scheme != "https" || parsed.Host != "media.0123abcd.r2.cloudflarestorage.com" || parsed.Path != "/a/b.png" {
		t.Fatalf("R2 link = %s", u)
	}
	if cred := parsed.Query().Get("X-Amz-Credential"); !strings.Contains(cred, "/auto/s3/aws4_request") {
		t.Fatalf("R2 credential scope = %q, want region auto", cred)
	}
	if parsed.Query().Get("X-Amz-Expires") != "3600" || time.Until(exp) < 59*time.Minute {
		t.Fatalf("default link lifetime: %s, expires %s", parsed.Query().Get("X-Amz-Expires"), exp)
	}

	req, err := r2.PresignPut(ctx, "a/c.png", 1234, "image/png", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(req.URL)
	signed := pu.Query().Get("X-Amz-SignedHeaders")
	if !strings.Contains(signed, "content-length") || !strings.Contains(signed, "content-type") {
		t.Fatalf("presigned PUT signs %q; want content-length and content-type", signed)
	}
	if req.Headers.Get("Host") != "" || req.Headers.Get("Content-Length") != "1234" {
		t.Fatalf("presigned PUT headers = %v", req.Headers)
	}

	pathStyle := newS3(t, storage.S3Config{
		Endpoint: "https://s3.example.test", Bucket: "media", AccessKeyID: "AK", SecretAccessKey: "SK", PathStyle: true,
	})
	u, _, err = pathStyle.URL(ctx, "x.txt")
	if err != nil || !strings.HasPrefix(u, "https://s3.example.test/media/x.txt?") {
		t.Fatalf("path-style link = %s, %v", u, err)
	}

	public := newS3(t, storage.S3Config{
		AccountID: "0123abcd", Bucket: "media", AccessKeyID: "AK", SecretAccessKey: "SK",
		PublicBaseURL: "https://cdn.example.test/",
	})
	u, exp, err = public.URL(ctx, "a/b.png")
	if err != nil || u != "https://cdn.example.test/a/b.png" || !exp.IsZero() {
		t.Fatalf("public link = %s, %v, %v", u, exp, err)
	}

	for name, cfg := range map[string]storage.S3Config{
		"no bucket":    {AccountID: "x", AccessKeyID: "AK", SecretAccessKey: "SK"},
		"no keys":      {AccountID: "x", Bucket: "b"},
		"bad endpoint": {Endpoint: "ftp://x", Bucket: "b", AccessKeyID: "AK", SecretAccessKey: "SK"},
		"nowhere":      {Bucket: "b", AccessKeyID: "AK", SecretAccessKey: "SK"},
	} {
		if _, err := storage.NewS3(cfg); err == nil {
			t.Errorf("%s: NewS3 accepted %+v", name, cfg)
		}
	}
}

func do(t *testing.T, method, u string, headers http.Header, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Length") {
			continue
		}
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The bucket serves its own links, so executable types must come back as
// downloads from there too.
func TestS3ServesRiskyTypesAsDownloads(t *testing.T) {
	s := newS3(t, storagetest.VersityGW(t))
	ctx := context.Background()
	for key, tc := range map[string]struct{ stored, disposition string }{
		"r/page.html": {"text/html", "attachment"},
		"r/pic.png":   {"image/png", ""},
	} {
		if err := s.Put(ctx, key, strings.NewReader("<b>x</b>"), 8, tc.stored); err != nil {
			t.Fatal(err)
		}
		u, _, err := s.URL(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.stored {
			t.Fatalf("%s: %d %q", key, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if got := resp.Header.Get("Content-Disposition"); got != tc.disposition {
			t.Errorf("%s: Content-Disposition %q, want %q", key, got, tc.disposition)
		}
	}
}
