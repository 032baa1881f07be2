package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/mailcatch"
	"github.com/ari-chat/ari-server/shared/mailer"
)

const waitMail = 10 * time.Second

func startCatcher(t *testing.T, opt mailcatch.Options) *mailcatch.Catcher {
	t.Helper()
	c, err := mailcatch.Start(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func newMailer(t *testing.T, rawURL string, tweak func(*mailer.Options)) *mailer.Mailer {
	t.Helper()
	srv, err := mailer.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	opt := mailer.Options{Server: srv, From: "Ari <no-reply@ari.test>", Timeout: 3 * time.Second,
		Backoff: 50 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}
	if tweak != nil {
		tweak(&opt)
	}
	m, err := mailer.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown(context.Background()) })
	return m
}

func waitFor(t *testing.T, c *mailcatch.Catcher, to string) mailcatch.Mail {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitMail)
	defer cancel()
	m, _, err := c.WaitFor(ctx, to, 0)
	if err != nil {
		t.Fatalf("%v (received %d mails)", err, len(c.Mails()))
	}
	return m
}

// A rendered mail goes through a real SMTP server with AUTH PLAIN and arrives
// with its headers, plain-text and HTML bodies intact (non-ASCII included).
func TestSendsTextAndHTMLThroughSMTPWithAuth(t *testing.T) {
	c := startCatcher(t, mailcatch.Options{User: "ari", Password: "p@ss:word"})
	m := newMailer(t, "smtp://ari:"+url.QueryEscape("p@ss:word")+"@"+c.Addr, nil)
	link := "http://localhost:3501/api/auth/reset-password/abcDEF123?callbackURL=%2Freset"
	msg, err := mailer.Render(mailer.ResetPassword, "zoë@example.com", mailer.Data{Name: "Zoë <b>", URL: link, ExpiresIn: "1 hour"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(msg); err != nil {
		t.Fatal(err)
	}
	got := waitFor(t, c, "zoë@example.com")
	if got.From != "no-reply@ari.test" {
		t.Errorf("envelope from %q", got.From)
	}
	if got.Subject != "Reset your Ari password" {
		t.Errorf("subject %q", got.Subject)
	}
	if h := got.Header.Get("From"); !strings.Contains(h, "no-reply@ari.test") {
		t.Errorf("From header %q", h)
	}
	if !strings.Contains(got.Text, link+"\r\n") || !strings.Contains(got.Text, "Hello Zoë <b>,") {
		t.Errorf("text body:\n%s", got.Text)
	}
	if !strings.Contains(got.HTML, `href="http://localhost:3501/api/auth/reset-password/abcDEF123?callbackURL=%2freset"`) &&
		!strings.Contains(got.HTML, `href="`+link+`"`) {
		t.Errorf("html body lacks the link:\n%s", got.HTML)
	}
	if !strings.Contains(got.HTML, "Zoë &lt;b&gt;") {
		t.Errorf("html body does not escape the name:\n%s", got.HTML)
	}
}

// A server that answers 451 (try later) twice gets the mail on the third try.
func TestRetriesTemporaryFailures(t *testing.T) {
	c := startCatcher(t, mailcatch.Options{})
	c.RejectNext(2)
	m := newMailer(t, "smtp://"+c.Addr, nil)
	if err := m.Send(mailer.Message{To: "a@example.com", Subject: "s", Text: "t", HTML: "<p>h</p>"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, c, "a@example.com")
}

// A refused login (535) is permanent: tried once, never again, and the next
// mail is still delivered by the same workers once the login is right.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	c := startCatcher(t, mailcatch.Options{User: "ari", Password: "right"})
	bad := newMailer(t, "smtp://ari:wrong@"+c.Addr, func(o *mailer.Options) { o.Backoff = time.Hour })
	if err := bad.Send(mailer.Message{To: "a@example.com", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	// With a backoff of an hour, a retry would hold Shutdown until its
	// context ends; a permanent failure lets it return at once.
	ctx, cancel := context.WithTimeout(context.Background(), waitMail)
	defer cancel()
	start := time.Now()
	bad.Shutdown(ctx)
	if ctx.Err() != nil {
		t.Fatalf("shutdown waited for a retry of a permanent failure")
	}
	t.Logf("shutdown after a permanent failure took %v", time.Since(start))
	if n := len(c.Mails()); n != 0 {
		t.Fatalf("%d mails arrived with a wrong password", n)
	}
}

// An attempt never outlives Timeout: a server that accepts and says nothing
// fails the attempt, and Shutdown returns when its context ends.
func TestAttemptTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // silent until the listener closes
		}
	}()
	m := newMailer(t, "smtp://"+ln.Addr().String(), func(o *mailer.Options) {
		o.Timeout = 200 * time.Millisecond
		o.Attempts = 2
	})
	if err := m.Send(mailer.Message{To: "a@example.com", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMail)
	defer cancel()
	start := time.Now()
	m.Shutdown(ctx)
	if ctx.Err() != nil {
		t.Fatalf("an attempt against a silent server outlived its timeout")
	}
	t.Logf("two attempts against a silent server ended after %v", time.Since(start))
}

// Shutdown delivers what is queued before it returns; Send then refuses.
func TestShutdownDrainsTheQueue(t *testing.T) {
	c := startCatcher(t, mailcatch.Options{})
	m := newMailer(t, "smtp://"+c.Addr, nil)
	for i := range 5 {
		if err := m.Send(mailer.Message{To: "u" + string(rune('a'+i)) + "@example.com", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitMail)
	defer cancel()
	m.Shutdown(ctx)
	if n := len(c.Mails()); n != 5 {
		t.Fatalf("%d of 5 queued mails delivered before Shutdown returned", n)
	}
	if err := m.Send(mailer.Message{To: "late@example.com", Subject: "s", Text: "t"}); err != mailer.ErrClosed {
		t.Fatalf("Send after Shutdown: %v", err)
	}
}

// smtps:// speaks TLS from the first byte and checks the server's
// certificate; the password goes only inside TLS.
func TestImplicitTLS(t *testing.T) {
	serverTLS, pool := selfSigned(t)
	c := startCatcher(t, mailcatch.Options{TLS: serverTLS, User: "u", Password: "p"})
	m := newMailer(t, "smtps://u:p@"+c.Addr, func(o *mailer.Options) { o.TLS = &tls.Config{RootCAs: pool} })
	if err := m.Send(mailer.Message{To: "tls@example.com", Subject: "over tls", Text: "t", HTML: "h"}); err != nil {
		t.Fatal(err)
	}
	if got := waitFor(t, c, "tls@example.com"); got.Subject != "over tls" {
		t.Fatalf("subject %q", got.Subject)
	}
}

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]mailer.Server{
		"smtp://mail.example.com":              {Host: "mail.example.com", Port: "587"},
		"smtps://u:p%40w@mail.example.com":     {Host: "mail.example.com", Port: "465", ImplicitTLS: true, User: "u", Password: "p@w"},
		"smtp://127.0.0.1:2525":                {Host: "127.0.0.1", Port: "2525"},
		"smtps://apikey:secret@smtp.host:2465": {Host: "smtp.host", Port: "2465", ImplicitTLS: true, User: "apikey", Password: "secret"},
	} {
		got, err := mailer.ParseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, raw := range []string{"http://mail.example.com", "smtp://", "mail.example.com:25", "::"} {
		if _, err := mailer.ParseURL(raw); err == nil {
			t.Errorf("ParseURL(%q) accepted", raw)
		}
	}
}

// Every kind renders, with a subject line and the link in both bodies.
func TestEveryTemplateRenders(t *testing.T) {
	for _, k := range []mailer.Kind{mailer.VerifyEmail, mailer.ResetPassword, mailer.ChangeEmailConfirm, mailer.DeleteAccount} {
		m, err := mailer.Render(k, "x@example.com", mailer.Data{URL: "https://ari.example/x?a=1&b=2", ExpiresIn: "1 hour", NewEmail: "n@example.com"})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if m.Subject == "" || !strings.Contains(m.Text, "https://ari.example/x?a=1&b=2") || !strings.Contains(m.HTML, "https://ari.example/x?a=1&amp;b=2") {
			t.Errorf("%s rendered %+v", k, m)
		}
	}
}

func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, pool
}
