package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The cluster's BETTER_AUTH_URL origin: a browser page the relay trusts.
const pageOrigin = "http://app.test:3501"

// tickets issues socket tickets exactly as POST /api/auth/socket-ticket does.
func tickets(t *testing.T, c *cluster, ttl time.Duration) auth.Tickets {
	rdb, _ := testenv.Redis(t)
	return auth.Tickets{Redis: rdb, Keys: kv.Keys{Prefix: c.prefix}, TTL: ttl}
}

func issue(t *testing.T, c *cluster, tk auth.Tickets, u testenv.TestUser) string {
	t.Helper()
	var sessionID string
	if err := c.db.Pool.QueryRow(context.Background(), `select id from "session" where token = $1`, u.Token).Scan(&sessionID); err != nil {
		t.Fatal(err)
	}
	ticket, _, err := tk.Issue(context.Background(), auth.Caller{ID: u.ID, Name: u.Name, SessionID: sessionID})
	if err != nil {
		t.Fatal(err)
	}
	return ticket
}

// dialPage opens /ws as a browser page on another site would: a trusted
// Origin, no cookie, no Authorization.
func dialPage(t *testing.T, r *relayProc) *peer {
	return dial(t, "ws://"+r.addr+"/ws", http.Header{"Origin": {pageOrigin}})
}

// refused expects auth_error with code, then close 4001.
func (p *peer) refused(code string) {
	p.t.Helper()
	if f := p.expect("auth_error"); f.str("code") != code {
		p.t.Fatalf("auth_error %v, want %s", f, code)
	}
	if got := p.waitClosed(); got != 4001 {
		p.t.Fatalf("closed with %d, want 4001", got)
	}
}

// TestSocketTicket: a socket opened without a session authenticates with a
// ticket in its first frame, as the ticket's user and session; a ticket
// works once, not after it expired, not after its session ended, and never
// as another user; a socket without a ticket gets nothing.
func TestSocketTicket(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	ada := w.users[0]
	bob := testenv.NewUser(t, c.db, "Bob")
	tk := tickets(t, c, 0)

	ticket := issue(t, c, tk, ada)
	p := dialPage(t, r)
	p.send(map[string]any{"type": "auth", "ticket": ticket})
	ok := p.expect("auth_ok")
	if ok.obj("user").str("id") != ada.ID || ok.obj("user").str("name") != "Ada" || ok.str("protocol") != "ari.v1" {
		t.Fatalf("auth_ok = %v", ok)
	}
	if ack := p.sendMessage(w.conv, "over a ticket", "t-1"); ack.obj("message").str("senderUserId") != ada.ID {
		t.Fatalf("ack = %v", ack)
	}
	// A second auth on an authenticated socket changes nothing.
	p.send(map[string]any{"type": "auth", "ticket": ticket})
	if f := p.expect("error"); f.str("code") != "invalid_frame" || f.str("field") != "type" {
		t.Fatalf("second auth: %v", f)
	}
	p.pingPast("auth_ok")

	t.Run("single use", func(t *testing.T) {
		again := dialPage(t, r)
		again.send(map[string]any{"type": "auth", "ticket": ticket})
		again.refused("unauthorized")
	})
	t.Run("bound to its user", func(t *testing.T) {
		// Bob's ticket makes a socket of Bob, which cannot write into Ada's
		// conversation; nothing in the frame can name another user.
		b := dialPage(t, r)
		b.send(map[string]any{"type": "auth", "ticket": issue(t, c, tk, bob), "userId": ada.ID})
		if ok := b.expect("auth_ok"); ok.obj("user").str("id") != bob.ID {
			t.Fatalf("auth_ok = %v", ok)
		}
		b.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "not mine", "clientMessageId": "b-1"})
		if f := b.expect("error"); f.str("code") != "not_found" {
			t.Fatalf("send into another user's conversation: %v", f)
		}
	})
	t.Run("expired", func(t *testing.T) {
		// Past its TTL by Redis's own clock: wait (bounded) until Redis
		// reports the key expired, rather than sleeping and hoping.
		short := tickets(t, c, 200*time.Millisecond)
		old := issue(t, c, short, ada)
		sum := sha256.Sum256([]byte(old))
		key := short.Keys.SocketTicket(hex.EncodeToString(sum[:]))
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, err := short.Redis.Exists(context.Background(), key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 { // expired (EXISTS never reports a key past its TTL)
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the ticket's key still exists 30 s after it was issued for 200 ms")
			}
			time.Sleep(50 * time.Millisecond)
		}
		e := dialPage(t, r)
		e.send(map[string]any{"type": "auth", "ticket": old})
		e.refused("unauthorized")
	})
	t.Run("session ended", func(t *testing.T) {
		carol := testenv.NewUser(t, c.db, "Carol")
		stale := issue(t, c, tk, carol)
		if _, err := c.db.Pool.Exec(context.Background(), `delete from "session" where "userId" = $1`, carol.ID); err != nil {
			t.Fatal(err)
		}
		s := dialPage(t, r)
		s.send(map[string]any{"type": "auth", "ticket": stale})
		s.refused("unauthorized")
	})
	t.Run("unknown or malformed", func(t *testing.T) {
		for _, bad := range []string{"x", "h3Xq9LrT0aPz4Wm7Kc2Yb8Nd5Fs1Gv6Ej0Ru3Io9", ticket + "!"} {
			s := dialPage(t, r)
			s.send(map[string]any{"type": "auth", "ticket": bad})
			s.refused("unauthorized")
		}
	})
	t.Run("first frame not auth", func(t *testing.T) {
		s := dialPage(t, r)
		s.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "sneaky", "clientMessageId": "s-1"})
		s.refused("auth_required")
		var n int
		if err := c.db.Pool.QueryRow(context.Background(), `select count(*) from messages where content = 'sneaky'`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("a message from an unauthenticated socket was stored: %d %v", n, err)
		}
	})
	t.Run("session ends after auth", func(t *testing.T) {
		dave := testenv.NewUser(t, c.db, "Dave")
		s := dialPage(t, r)
		s.send(map[string]any{"type": "auth", "ticket": issue(t, c, tk, dave)})
		s.expect("auth_ok")
		var sessionID string
		if err := c.db.Pool.QueryRow(context.Background(), `select id from "session" where "userId" = $1`, dave.ID).Scan(&sessionID); err != nil {
			t.Fatal(err)
		}
		endSessions(t, c, dave.ID, sessionID)
		if got := s.waitClosed(); got != 4001 {
			t.Fatalf("closed with %d, want 4001", got)
		}
	})
}

// TestSocketTicketDeadline: a ticket socket that sends nothing is closed
// with 4009 after RELAY_AGENT_AUTH_TIMEOUT.
func TestSocketTicketDeadline(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_AGENT_AUTH_TIMEOUT": "1s"})
	r := c.start()
	p := dialPage(t, r)
	if f := p.expect("auth_error"); f.str("code") != "auth_timeout" {
		t.Fatalf("auth_error = %v", f)
	}
	if got := p.waitClosed(); got != 4009 {
		t.Fatalf("closed with %d, want 4009", got)
	}
}
