// Package mailer sends Ari's mails (email verification, password reset,
// email change, account deletion) over SMTP, off the request path: Send
// queues a message and returns at once; a fixed set of workers owned by the
// Mailer delivers it, each attempt under a short timeout, retrying a failed
// attempt a bounded number of times. Shutdown stops taking mail, lets the
// queue drain until its context ends and waits for every worker.
//
// Under AWS Lambda a function's environment is frozen between invocations,
// so a retry waiting there runs when the environment thaws (or is lost with
// it); the first attempt usually finishes while the request is answered.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/mail"
	"sync"
	"time"
)

// Options configure a Mailer. Zero values take the defaults in brackets.
type Options struct {
	// Server is where mail goes (ParseURL reads SMTP_URL).
	Server Server
	// From is EMAIL_FROM.
	From string
	// Timeout bounds one delivery attempt, connect to QUIT [10s].
	Timeout time.Duration
	// Attempts is how many times a message is tried in all [3]; a permanent
	// (5xx) refusal is not retried.
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each next
	// one [2s].
	Backoff time.Duration
	// Workers deliver in parallel [2]; Queue is how many messages may wait
	// [256]. A full queue refuses new mail rather than grow.
	Workers, Queue int
	// TLS, when set, is the base TLS configuration (tests trust their own CA).
	TLS *tls.Config
	// Log receives a line per failed attempt and per given-up message.
	Log *slog.Logger
}

// Errors Send returns.
var (
	ErrQueueFull = errors.New("mailer: queue is full")
	ErrClosed    = errors.New("mailer: shut down")
)

// Mailer owns the send queue and its workers.
type Mailer struct {
	opt  Options
	from *mail.Address

	mu     sync.Mutex
	closed bool
	queue  chan Message
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New checks opt and starts the workers.
func New(opt Options) (*Mailer, error) {
	from, err := mail.ParseAddress(opt.From)
	if err != nil {
		return nil, errors.New("mailer: EMAIL_FROM is not an address")
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Attempts <= 0 {
		opt.Attempts = 3
	}
	if opt.Backoff <= 0 {
		opt.Backoff = 2 * time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	if opt.Queue <= 0 {
		opt.Queue = 256
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mailer{opt: opt, from: from, queue: make(chan Message, opt.Queue), ctx: ctx, cancel: cancel}
	for range opt.Workers {
		m.wg.Go(m.work)
	}
	return m, nil
}

// Send queues msg and returns without waiting for the server. It fails only
// when the queue is full or the Mailer is shut down.
func (m *Mailer) Send(msg Message) error {
	if _, err := mail.ParseAddress(msg.To); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	select {
	case m.queue <- msg:
		return nil
	default:
		return ErrQueueFull
	}
}

// Shutdown refuses new mail, lets the workers deliver what is queued until
// ctx ends, then cancels what is still in flight; it returns when every
// worker has stopped. A nil Mailer does nothing.
func (m *Mailer) Shutdown(ctx context.Context) {
	if m == nil {
		return
	}
	m.mu.Lock()
	if !m.closed {
		m.closed = true
		close(m.queue)
	}
	m.mu.Unlock()
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		m.cancel()
		<-done
	}
	m.cancel()
}

func (m *Mailer) work() {
	for msg := range m.queue {
		if m.ctx.Err() != nil {
			m.opt.Log.Warn("mail dropped at shutdown", "to", redact(msg.To), "subject", msg.Subject)
			continue
		}
		m.deliver(msg)
	}
}

// deliver tries msg up to Attempts times, backing off between attempts.
func (m *Mailer) deliver(msg Message) {
	data, err := compose(m.from, msg, time.Now())
	if err != nil {
		m.opt.Log.Error("mail not composed", "to", redact(msg.To), "err", err)
		return
	}
	wait := m.opt.Backoff
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(m.ctx, m.opt.Timeout)
		err := deliver(ctx, m.opt.Server, m.opt.TLS, m.from.Address, msg.To, data)
		cancel()
		if err == nil {
			return
		}
		last := attempt >= m.opt.Attempts || permanent(err) || m.ctx.Err() != nil
		m.opt.Log.Warn("mail delivery failed", "to", redact(msg.To), "subject", msg.Subject,
			"attempt", attempt, "final", last, "err", err)
		if last {
			return
		}
		select {
		case <-time.After(wait):
		case <-m.ctx.Done():
			return
		}
		wait *= 2
	}
}

// redact keeps an address recognisable in logs without writing it out.
func redact(addr string) string {
	for i := range len(addr) {
		if addr[i] == '@' {
			if i <= 1 {
				return "*" + addr[i:]
			}
			return addr[:1] + "***" + addr[i:]
		}
	}
	return "***"
}
