package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// With local storage the whole direct-upload flow works against the shim
// alone: presign, PUT to its /files/ URL, complete, download.
func TestShimServesLocalUploads(t *testing.T) {
	var handler http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	cfg := testenv.Config(t)
	cfg.BaseURL = srv.URL // links point at this server, as BETTER_AUTH_URL would
	p, err := platform.FromConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if handler, err = shim(p); err != nil {
		t.Fatal(err)
	}
	u := testenv.NewUser(t, p.DB, "shim-uploader")
	text := []byte("hello from the shim\n")

	call := func(method, url, contentType string, body io.Reader, header map[string]string) (int, []byte, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, url, body)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		for k, v := range header {
			if k == "Content-Length" {
				req.ContentLength, _ = strconv.ParseInt(v, 10, 64)
				continue
			}
			req.Header.Set(k, v)
		}
		if strings.HasPrefix(url, srv.URL+"/api/") {
			req.Header.Set("Authorization", "Bearer "+u.Token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, resp.Header
	}

	st, body, _ := call("POST", srv.URL+"/api/uploads/presign", "application/json",
		strings.NewReader(`{"name":"hello.txt","contentType":"text/plain","size":`+strconv.Itoa(len(text))+`}`), nil)
	var pre struct {
		AttachmentID string `json:"attachmentId"`
		Upload       struct {
			Method, URL string
			Headers     map[string]string
		} `json:"upload"`
	}
	if st != http.StatusCreated || json.Unmarshal(body, &pre) != nil || !strings.HasPrefix(pre.Upload.URL, srv.URL+"/files/") {
		t.Fatalf("presign: %d %s", st, body)
	}
	if st, body, _ := call(pre.Upload.Method, pre.Upload.URL, "", bytes.NewReader(text), pre.Upload.Headers); st != http.StatusOK {
		t.Fatalf("PUT: %d %s", st, body)
	}
	st, body, _ = call("POST", srv.URL+"/api/uploads/"+pre.AttachmentID+"/complete", "", nil, nil)
	var done struct {
		Attachment struct{ URL, Status string } `json:"attachment"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &done) != nil || done.Attachment.Status != "ready" {
		t.Fatalf("complete: %d %s", st, body)
	}
	st, body, h := call("GET", done.Attachment.URL, "", nil, nil)
	if st != http.StatusOK || !bytes.Equal(body, text) {
		t.Fatalf("download: %d %q", st, body)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
		t.Fatalf("download headers %v", h)
	}
	// Without the signature the same path is refused.
	if st, _, _ := call("GET", strings.Split(done.Attachment.URL, "?")[0], "", nil, nil); st != http.StatusForbidden {
		t.Fatalf("unsigned download: %d", st)
	}
}
