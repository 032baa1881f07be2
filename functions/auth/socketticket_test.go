package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	sa "github.com/ari-chat/ari-server/shared/auth"
)

type ticketBody struct {
	Ticket    string    `json:"ticket"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// TestSocketTicket: POST /api/auth/socket-ticket gives a signed-in caller
// (cookie or bearer) a ticket for its session, stored only as a hash with a
// 30 s TTL and redeemable once; without a session it is 401, and a cookie
// from an untrusted origin gets 403, in Better Auth's shape.
func TestSocketTicket(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)

	res := c.post("/api/auth/socket-ticket", nil)
	if res.Status != http.StatusUnauthorized || res.err(t).Code != "UNAUTHORIZED" {
		t.Fatalf("signed out: %d %s", res.Status, res.Body)
	}

	up := signUp(t, c, uniqueEmail("Ticket"), "correct horse battery")
	res = c.post("/api/auth/socket-ticket", nil) // the cookie
	if res.Status != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("with the cookie: %d %v %s", res.Status, res.Header, res.Body)
	}
	var tb ticketBody
	res.json(t, &tb)
	if len(tb.Ticket) != sa.TicketLength {
		t.Fatalf("ticket %q", tb.Ticket)
	}
	if d := time.Until(tb.ExpiresAt); d <= 0 || d > 31*time.Second {
		t.Fatalf("expiresAt %s is %s away", tb.ExpiresAt, d)
	}
	// Redis holds the ticket's hash, never the ticket.
	ctx := context.Background()
	sum := sha256.Sum256([]byte(tb.Ticket))
	key := s.p.Keys.SocketTicket(hex.EncodeToString(sum[:]))
	if ttl, err := s.p.Redis.TTL(ctx, key).Result(); err != nil || ttl <= 0 || ttl > 30*time.Second {
		t.Fatalf("ticket key TTL %s %v", ttl, err)
	}
	keys, err := s.p.Redis.Keys(ctx, s.p.Keys.Prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		v, _ := s.p.Redis.Get(ctx, k).Result()
		if strings.Contains(k, tb.Ticket) || strings.Contains(v, tb.Ticket) {
			t.Fatalf("Redis holds the ticket itself in %s", k)
		}
	}
	tickets := sa.Tickets{Redis: s.p.Redis, Keys: s.p.Keys}
	caller, err := tickets.Redeem(ctx, s.db, tb.Ticket)
	if err != nil || caller.ID != up.User.ID || caller.SessionID == "" {
		t.Fatalf("redeem: %+v %v", caller, err)
	}
	if _, err := tickets.Redeem(ctx, s.db, tb.Ticket); !errors.Is(err, sa.ErrBadTicket) {
		t.Fatalf("second redeem: %v", err)
	}

	// A cross-site app has no cookie: the bearer token from sign-in.
	bearer := s.client(t)
	bearer.origin = "http://elsewhere.example"
	res = bearer.do(http.MethodPost, "/api/auth/socket-ticket", nil, map[string]string{"Authorization": "Bearer " + up.Token})
	if res.Status != http.StatusOK {
		t.Fatalf("with the bearer: %d %s", res.Status, res.Body)
	}
	res.json(t, &tb)
	if caller, err := tickets.Redeem(ctx, s.db, tb.Ticket); err != nil || caller.ID != up.User.ID {
		t.Fatalf("bearer ticket: %+v %v", caller, err)
	}

	// The cookie from an untrusted page: Better Auth's origin check.
	c.origin = "http://elsewhere.example"
	res = c.post("/api/auth/socket-ticket", nil)
	if res.Status != http.StatusForbidden || res.err(t).Code != "INVALID_ORIGIN" {
		t.Fatalf("cookie from an untrusted origin: %d %s", res.Status, res.Body)
	}
}
