// Package mailcatch is a real SMTP server for loopback (built on
// emersion/go-smtp) that keeps what it receives: in memory for tests, and in
// a folder for `make local`, where each mail is written as <n>.eml (the raw
// message) and <n>.txt (its headers and decoded plain-text body, so a reset
// link can be clicked). It is never used to send mail anywhere.
package mailcatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one received message.
type Mail struct {
	From    string
	To      []string
	Raw     []byte
	Header  mail.Header
	Subject string
	Text    string
	HTML    string
}

// Options configure a Catcher.
type Options struct {
	// Addr to listen on [127.0.0.1:0].
	Addr string
	// Dir, when set, receives <n>.eml and <n>.txt per mail.
	Dir string
	// User and Password, when set, are required (AUTH PLAIN).
	User, Password string
	// TLS, when set, makes the listener implicit TLS (smtps).
	TLS *tls.Config
	// OnMail is called after each mail is kept, with its number (1, 2, …;
	// the file name in Dir).
	OnMail func(n int, m Mail)
}

// Catcher is a running server.
type Catcher struct {
	// Addr is host:port it listens on.
	Addr string

	opt    Options
	srv    *smtp.Server
	done   chan struct{}
	mu     sync.Mutex
	mails  []Mail
	reject int
	notify chan struct{}
}

// Start listens and serves until Close.
func Start(opt Options) (*Catcher, error) {
	if opt.Addr == "" {
		opt.Addr = "127.0.0.1:0"
	}
	var ln net.Listener
	var err error
	if opt.TLS != nil {
		ln, err = tls.Listen("tcp", opt.Addr, opt.TLS)
	} else {
		ln, err = net.Listen("tcp", opt.Addr)
	}
	if err != nil {
		return nil, err
	}
	if opt.Dir != "" {
		if err := os.MkdirAll(opt.Dir, 0o755); err != nil {
			_ = ln.Close()
			return nil, err
		}
	}
	c := &Catcher{Addr: ln.Addr().String(), opt: opt, done: make(chan struct{}), notify: make(chan struct{})}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{c: c}, nil }))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true // loopback only
	s.MaxMessageBytes = 10 << 20
	s.MaxRecipients = 50
	s.ReadTimeout = 30 * time.Second
	s.WriteTimeout = 30 * time.Second
	c.srv = s
	go func() { defer close(c.done); _ = s.Serve(ln) }()
	return c, nil
}

// Close stops the server and waits for it.
func (c *Catcher) Close() error {
	err := c.srv.Close()
	<-c.done
	return err
}

// RejectNext makes the next n DATA commands fail with a temporary 451, as a
// busy server would.
func (c *Catcher) RejectNext(n int) {
	c.mu.Lock()
	c.reject = n
	c.mu.Unlock()
}

// Mails returns what was received so far.
func (c *Catcher) Mails() []Mail {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Mail(nil), c.mails...)
}

// WaitFor returns the first mail to addr (case-insensitive) at index from
// or later, waiting until ctx ends.
func (c *Catcher) WaitFor(ctx context.Context, addr string, from int) (Mail, int, error) {
	for {
		c.mu.Lock()
		for i := from; i < len(c.mails); i++ {
			for _, to := range c.mails[i].To {
				if strings.EqualFold(to, addr) {
					m := c.mails[i]
					c.mu.Unlock()
					return m, i, nil
				}
			}
		}
		ch := c.notify
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Mail{}, 0, fmt.Errorf("no mail to %s: %w", addr, ctx.Err())
		}
	}
}

func (c *Catcher) keep(m Mail) error {
	c.mu.Lock()
	if c.reject > 0 {
		c.reject--
		c.mu.Unlock()
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	c.mails = append(c.mails, m)
	n := len(c.mails)
	close(c.notify)
	c.notify = make(chan struct{})
	c.mu.Unlock()
	if c.opt.Dir != "" {
		base := filepath.Join(c.opt.Dir, fmt.Sprintf("%04d", n))
		if err := os.WriteFile(base+".eml", m.Raw, 0o644); err != nil {
			return err
		}
		summary := fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\n\n%s", m.Header.Get("From"), strings.Join(m.To, ", "), m.Subject, m.Text)
		if err := os.WriteFile(base+".txt", []byte(summary), 0o644); err != nil {
			return err
		}
	}
	if c.opt.OnMail != nil {
		c.opt.OnMail(n, m)
	}
	return nil
}

type session struct {
	c      *Catcher
	authed bool
	from   string
	to     []string
}

func (s *session) AuthMechanisms() []string {
	if s.c.opt.User == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.c.opt.User || pass != s.c.opt.Password {
			return smtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.c.opt.User != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: err.Error()}
	}
	m.From, m.To = s.from, append([]string(nil), s.to...)
	return s.c.keep(m)
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// parse reads the headers and the text and HTML bodies (of a single-part
// message or of a multipart one, transfer encodings undone).
func parse(raw []byte) (Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, err
	}
	m := Mail{Raw: raw, Header: msg.Header}
	var dec mime.WordDecoder
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Mail{}, err
	}
	ct := msg.Header.Get("Content-Type")
	if ct == "" {
		ct = "text/plain" // RFC 2045's default
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return Mail{}, err
	}
	if !strings.HasPrefix(mt, "multipart/") {
		body, err := io.ReadAll(msg.Body)
		if err != nil {
			return Mail{}, err
		}
		m.Text = string(body)
		return m, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return Mail{}, err
		}
		body, err := io.ReadAll(p) // quoted-printable is decoded by NextPart
		if err != nil {
			return Mail{}, err
		}
		switch pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt {
		case "text/plain":
			m.Text = string(body)
		case "text/html":
			m.HTML = string(body)
		}
	}
}
