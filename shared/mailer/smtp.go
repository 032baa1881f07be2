package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
)

// Server is where mail goes, parsed from SMTP_URL.
type Server struct {
	// Host and Port of the SMTP server.
	Host, Port string
	// ImplicitTLS is smtps://: TLS from the first byte (port 465). Otherwise
	// the connection is upgraded with STARTTLS when the server offers it.
	ImplicitTLS bool
	// User and Password authenticate with AUTH PLAIN when User is set. Go's
	// net/smtp sends them only over TLS or to a loopback host.
	User, Password string
}

// ParseURL reads smtp://[user:password@]host[:port] (port 587 by default) or
// smtps://[user:password@]host[:port] (465).
func ParseURL(raw string) (Server, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return Server{}, errors.New("mailer: SMTP_URL must look like smtp://user:password@host:587")
	}
	s := Server{Host: u.Hostname(), Port: u.Port()}
	switch u.Scheme {
	case "smtp":
		if s.Port == "" {
			s.Port = "587"
		}
	case "smtps":
		s.ImplicitTLS = true
		if s.Port == "" {
			s.Port = "465"
		}
	default:
		return Server{}, fmt.Errorf("mailer: SMTP_URL scheme %q is not smtp or smtps", u.Scheme)
	}
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	return s, nil
}

func (s Server) addr() string { return net.JoinHostPort(s.Host, s.Port) }

// deliver speaks SMTP to s for one message: connect, TLS (implicit or
// STARTTLS when offered), AUTH when a user is set, MAIL, RCPT, DATA, QUIT.
// Every step runs under ctx's deadline.
func deliver(ctx context.Context, s Server, tlsConf *tls.Config, from, to string, data []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr())
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	conf := tlsConfig(tlsConf, s.Host)
	if s.ImplicitTLS {
		tc := tls.Client(conn, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = conn.Close()
			return err
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		_ = conn.Close()
		return err
	}
	defer c.Close()
	if !s.ImplicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(conf); err != nil {
				return err
			}
		}
	}
	if s.User != "" {
		if err := c.Auth(smtp.PlainAuth("", s.User, s.Password, s.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func tlsConfig(base *tls.Config, host string) *tls.Config {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if base != nil {
		c = base.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = host
	}
	return c
}

// permanent reports an SMTP 5xx answer (a refused recipient or sender, a
// failed login): sending the same message again would get the same answer.
func permanent(err error) bool {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500
	}
	return strings.Contains(err.Error(), "unencrypted connection")
}
