package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// lockedBuffer is the catcher's stdout, read while it writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMakeLocalMailLandsInTheFolder runs make local's mail wiring as
// local/scripts/dev.sh does (the catcher with its flags, SMTP_URL pointing
// at it, the shim built from that configuration by platform, so the real
// SMTP client sends): a password-reset request lands as a file in the
// folder dev.sh prints, and its link works on the shim.
func TestMakeLocalMailLandsInTheFolder(t *testing.T) {
	script, err := os.ReadFile("scripts/dev.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`export SMTP_URL="smtp://127.0.0.1:$MAIL_PORT"`,
		`.local/bin/ari-local mailcatcher -addr "127.0.0.1:$MAIL_PORT" -dir "$DEV/mail"`, `Mail:                $DEV/mail/`} {
		if !bytes.Contains(script, []byte(line)) {
			t.Fatalf("dev.sh no longer has %q: update this test with the wiring", line)
		}
	}
	dir := filepath.Join(t.TempDir(), "mail") // $DEV/mail
	var out lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mailcatcher(ctx, &out, []string{"-addr", "127.0.0.1:0", "-dir", dir}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("mail catcher: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("mail catcher did not stop within 10 s")
		}
	})
	started := regexp.MustCompile(`mail catcher: smtp://(127\.0\.0\.1:\d+), mails in (\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(20 * time.Millisecond) {
		if m := started.FindStringSubmatch(out.String()); m != nil {
			if m[2] != dir {
				t.Fatalf("catcher writes to %s, want %s", m[2], dir)
			}
			addr = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("catcher did not start within 10 s: %q", out.String())
		}
	}

	ln, port := loopback(t)
	cfg := testenv.Config(t)
	cfg.SMTPURL = "smtp://" + addr
	cfg.BaseURL = "http://127.0.0.1:" + port
	_, h := shimFor(t, cfg, false)
	serveTest(t, ln, h)
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, body any) int {
		b, _ := json.Marshal(body)
		res, err := client.Post(cfg.BaseURL+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	email := "newcomer-" + testenv.RandomID(4) + "@example.com"
	if st := post("/api/auth/sign-up/email", map[string]any{"name": "New", "email": email, "password": "newcomer password"}); st != 200 {
		t.Fatalf("sign-up: %d", st)
	}
	if st := post("/api/auth/request-password-reset", map[string]any{"email": email, "redirectTo": "/reset"}); st != 200 {
		t.Fatalf("request-password-reset: %d", st)
	}

	var text string
	for deadline := time.Now().Add(20 * time.Second); text == ""; time.Sleep(50 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(b), email) {
				text = string(b)
			}
		}
		if text == "" && time.Now().After(deadline) {
			t.Fatalf("no mail to %s in %s within 20 s (catcher said %q)", email, dir, out.String())
		}
	}
	link := regexp.MustCompile(`http://\S+/api/auth/reset-password/\S+`).FindString(text)
	if !strings.HasPrefix(link, cfg.BaseURL+"/api/auth/reset-password/") {
		t.Fatalf("reset mail without our link:\n%s", text)
	}
	res, err := client.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != 302 || !strings.HasPrefix(loc, cfg.BaseURL+"/reset?token=") {
		t.Fatalf("the mailed link: %d %q", res.StatusCode, loc)
	}
	if !strings.Contains(out.String(), "mail 0001 to ["+email+"]") {
		t.Fatalf("catcher did not list the mail: %q", out.String())
	}
}
