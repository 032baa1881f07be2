package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// patternReader yields n deterministic bytes and is deliberately not an
// io.Seeker, like an upload body streamed from a client.
type patternReader struct{ left, off int64 }

func (p *patternReader) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	n := min(int64(len(b)), p.left)
	for i := range n {
		b[i] = byte((p.off + i) * 31 % 251)
	}
	p.left -= n
	p.off += n
	return int(n), nil
}

func pattern(n int64) io.Reader { return &patternReader{left: n} }

func patternSum(n int64) [32]byte {
	h := sha256.New()
	io.Copy(h, pattern(n))
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// httpDo makes a presigned request exactly as a browser or app would.
func httpDo(t *testing.T, method, url string, headers http.Header, body []byte) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if strings.EqualFold(k, "Content-Length") {
			n, err := strconv.ParseInt(v[0], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = n
			continue
		}
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, got, resp.Header
}

func mustNotExist(t *testing.T, s Store, key string) {
	t.Helper()
	if _, err := s.Stat(context.Background(), key); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat(%q) err = %v, want ErrNotFound", key, err)
	}
}

// runStoreSuite is the behaviour both implementations must share.
func runStoreSuite(t *testing.T, s Store) {
	ctx := context.Background()

	t.Run("put open stat head", func(t *testing.T) {
		body := []byte("\x89PNG\r\n\x1a\nnot really an image but a fine payload")
		key := "u/alice/01-photo.png"
		if err := s.Put(ctx, key, bytes.NewBufferString(string(body)), int64(len(body)), "image/png"); err != nil {
			t.Fatal(err)
		}
		rc, info, err := s.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("Open read %q, want %q", got, body)
		}
		if info.Size != int64(len(body)) || info.ContentType != "image/png" || info.ModTime.IsZero() {
			t.Fatalf("Open info = %+v", info)
		}
		st, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size != info.Size || st.ContentType != "image/png" || time.Since(st.ModTime) > time.Minute {
			t.Fatalf("Stat = %+v", st)
		}
		head, err := s.ReadHead(ctx, key, 8)
		if err != nil || string(head) != "\x89PNG\r\n\x1a\n" {
			t.Fatalf("ReadHead(8) = %q, %v", head, err)
		}
		head, err = s.ReadHead(ctx, key, 4096)
		if err != nil || !bytes.Equal(head, body) {
			t.Fatalf("ReadHead(4096) = %q, %v", head, err)
		}
	})

	t.Run("streams a large non-seekable body", func(t *testing.T) {
		const size = 5<<20 + 123
		key := "big/stream.bin"
		if err := s.Put(ctx, key, pattern(size), size, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
		rc, info, err := s.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		h := sha256.New()
		if _, err := io.Copy(h, rc); err != nil {
			t.Fatal(err)
		}
		if info.Size != size || [32]byte(h.Sum(nil)) != patternSum(size) {
			t.Fatalf("read back %d bytes with a different digest (info %+v)", info.Size, info)
		}
	})

	t.Run("zero bytes", func(t *testing.T) {
		key := "empty/file.txt"
		if err := s.Put(ctx, key, strings.NewReader(""), 0, "text/plain"); err != nil {
			t.Fatal(err)
		}
		head, err := s.ReadHead(ctx, key, 512)
		if err != nil || len(head) != 0 {
			t.Fatalf("ReadHead of empty = %q, %v", head, err)
		}
		if st, err := s.Stat(ctx, key); err != nil || st.Size != 0 {
			t.Fatalf("Stat of empty = %+v, %v", st, err)
		}
	})

	t.Run("body size must match", func(t *testing.T) {
		err := s.Put(ctx, "short/body", strings.NewReader("12345"), 10, "text/plain")
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("short body: err = %v, want ErrSizeMismatch", err)
		}
		mustNotExist(t, s, "short/body")
		err = s.Put(ctx, "long/body", strings.NewReader("1234567890"), 5, "text/plain")
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("long body: err = %v, want ErrSizeMismatch", err)
		}
		mustNotExist(t, s, "long/body")
		err = s.Put(ctx, "zero/body", strings.NewReader("x"), 0, "text/plain")
		if !errors.Is(err, ErrSizeMismatch) {
			t.Fatalf("data for size 0: err = %v, want ErrSizeMismatch", err)
		}
		mustNotExist(t, s, "zero/body")
	})

	t.Run("presigned put", func(t *testing.T) {
		body := []byte("GIF89a tiny gif-ish payload for a presigned upload")
		key := "direct/one.gif"
		req, err := s.PresignPut(ctx, key, int64(len(body)), "image/gif", 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if req.Method != http.MethodPut || time.Until(req.Expires) < 4*time.Minute {
			t.Fatalf("presigned request = %+v", req)
		}
		if req.Headers.Get("Content-Type") != "image/gif" || req.Headers.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("presigned headers = %v", req.Headers)
		}
		mustNotExist(t, s, key)
		if code, resp, _ := httpDo(t, req.Method, req.URL, req.Headers, body); code != http.StatusOK {
			t.Fatalf("upload status %d: %s", code, resp)
		}
		st, err := s.Stat(ctx, key)
		if err != nil || st.Size != int64(len(body)) || st.ContentType != "image/gif" {
			t.Fatalf("after upload Stat = %+v, %v", st, err)
		}
		head, err := s.ReadHead(ctx, key, 6)
		if err != nil || string(head) != "GIF89a" {
			t.Fatalf("ReadHead = %q, %v", head, err)
		}
	})

	t.Run("presigned put refuses another size or type", func(t *testing.T) {
		key := "direct/bound.png"
		req, err := s.PresignPut(ctx, key, 10, "image/png", 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		bigger := req.Headers.Clone()
		bigger.Set("Content-Length", "11")
		if code, resp, _ := httpDo(t, req.Method, req.URL, bigger, []byte("0123456789X")); code != http.StatusForbidden {
			t.Fatalf("wrong size: status %d, want 403: %s", code, resp)
		}
		html := req.Headers.Clone()
		html.Set("Content-Type", "text/html")
		if code, resp, _ := httpDo(t, req.Method, req.URL, html, []byte("<script>12")); code != http.StatusForbidden {
			t.Fatalf("wrong type: status %d, want 403: %s", code, resp)
		}
		mustNotExist(t, s, key)
	})

	t.Run("url fetches the object", func(t *testing.T) {
		key := "links/note.txt"
		body := "hello from storage\n"
		if err := s.Put(ctx, key, strings.NewReader(body), int64(len(body)), "text/plain"); err != nil {
			t.Fatal(err)
		}
		u, exp, err := s.URL(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if left := time.Until(exp); left < 50*time.Minute || left > time.Hour+time.Second {
			t.Fatalf("URL expires in %s, want about an hour", left)
		}
		code, got, hdr := httpDo(t, http.MethodGet, u, nil, nil)
		if code != http.StatusOK || string(got) != body {
			t.Fatalf("GET %s: %d %q", u, code, got)
		}
		if ct := hdr.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("Content-Type = %q", ct)
		}
		// Tampering with the link breaks it.
		if code, _, _ := httpDo(t, http.MethodGet, strings.Replace(u, "links/note.txt", "links/other.txt", 1), nil, nil); code != http.StatusForbidden && code != http.StatusNotFound {
			t.Fatalf("tampered link: status %d", code)
		}
	})

	t.Run("delete", func(t *testing.T) {
		key := "gone/soon.txt"
		if err := s.Put(ctx, key, strings.NewReader("bye"), 3, "text/plain"); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		mustNotExist(t, s, key)
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("second Delete = %v, want nil", err)
		}
	})

	t.Run("not found", func(t *testing.T) {
		key := "never/was.png"
		if _, _, err := s.Open(ctx, key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Open err = %v", err)
		}
		if _, err := s.ReadHead(ctx, key, 16); !errors.Is(err, ErrNotFound) {
			t.Fatalf("ReadHead err = %v", err)
		}
		mustNotExist(t, s, key)
	})

	t.Run("list by prefix and age", func(t *testing.T) {
		for _, key := range []string{"listing/a.txt", "listing/sub/b.txt", "listingx/c.txt"} {
			if err := s.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); err != nil {
				t.Fatal(err)
			}
		}
		list := func(prefix string, olderThan time.Time) []string {
			t.Helper()
			keys, err := s.List(ctx, prefix, olderThan)
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			slices.Sort(keys)
			return keys
		}
		later := time.Now().Add(time.Minute)
		if got := list("listing/", later); !slices.Equal(got, []string{"listing/a.txt", "listing/sub/b.txt"}) {
			t.Fatalf("List(listing/) = %q", got)
		}
		if got := list("listing/a", later); !slices.Equal(got, []string{"listing/a.txt"}) {
			t.Fatalf("List(listing/a) = %q", got)
		}
		// Written just now: not older than an hour ago.
		if got := list("listing/", time.Now().Add(-time.Hour)); len(got) != 0 {
			t.Fatalf("List(listing/, an hour ago) = %q", got)
		}
		if got := list("nothing-here/", later); len(got) != 0 {
			t.Fatalf("List(nothing-here/) = %q", got)
		}
		if err := s.Delete(ctx, "listing/a.txt"); err != nil {
			t.Fatal(err)
		}
		if got := list("listing/", later); !slices.Equal(got, []string{"listing/sub/b.txt"}) {
			t.Fatalf("after Delete, List(listing/) = %q", got)
		}
	})

	t.Run("invalid keys", func(t *testing.T) {
		for _, key := range badKeys {
			if err := s.Put(ctx, key, strings.NewReader("x"), 1, "text/plain"); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(%q) err = %v", key, err)
			}
			if _, _, err := s.Open(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Open(%q) err = %v", key, err)
			}
			if _, err := s.PresignPut(ctx, key, 1, "text/plain", time.Minute); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("PresignPut(%q) err = %v", key, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Delete(%q) err = %v", key, err)
			}
		}
	})
}

var badKeys = []string{
	"", "../etc/passwd", "a/../../b", "/abs/path", "a\x00b", "a//b", "trailing/",
	".hidden", "a/./b", "with space", "back\\slash", "q?x=1", "ünï", strings.Repeat("k", MaxKeyLen+1),
}
