package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Per-user limits on client sockets (PROTOCOL.md sections 3 and 4) and the
// instant end of revoked sessions, through two real relay instances.

// countMessages counts the user messages stored in conv.
func countMessages(t *testing.T, c *cluster, conv string) int {
	t.Helper()
	var n int
	if err := c.db.Pool.QueryRow(context.Background(),
		`select count(*) from messages where conversation_id = $1 and role = 'user'`, conv).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSendLimitIsSharedByInstancesAndStoresNothing(t *testing.T) {
	// 6 a minute: after the burst of 3, one more every 10 s.
	c := newCluster(t, map[string]string{"RATE_LIMIT_SEND_PER_MINUTE": "6", "RATE_LIMIT_SEND_BURST": "3"})
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada}) // no agents: plain messages
	onA, onB := dialClient(t, a, ada), dialClient(t, b, ada)

	start := time.Now()
	const perSocket = 4
	for i := 0; i < perSocket; i++ {
		for name, p := range map[string]*peer{"a": onA, "b": onB} {
			p.send(map[string]any{"type": "send_message", "conversationId": conv, "content": "flood", "clientMessageId": fmt.Sprintf("f-%s-%d", name, i)})
		}
	}
	acks, limited := 0, 0
	var refused frame
	for _, p := range []*peer{onA, onB} {
		for i := 0; i < perSocket; i++ {
			f := p.expectWhere("", func(f frame) bool {
				return f.str("type") == "message_ack" || (f.str("type") == "error" && f.str("code") == "rate_limited")
			})
			if f.str("type") == "message_ack" {
				acks++
				continue
			}
			limited++
			refused = f
			if f.num("retryAfterMs") < 1 || f.num("retryAfterMs") > 10000 || f.str("ref") == "" {
				t.Fatalf("rate_limited frame = %v", f)
			}
			if ms, ok := f["retryAfterMs"].(float64); !ok || ms != float64(int64(ms)) {
				t.Fatalf("retryAfterMs is not an integer: %v", f["retryAfterMs"])
			}
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d acked, %d rate_limited in %s; retryAfterMs %d", acks, limited, elapsed, refused.num("retryAfterMs"))
	// One allowance for both instances: the burst plus what refilled while
	// the test ran (one per 10 s), never a burst per instance.
	if allowed := 3 + int(elapsed/(10*time.Second)); acks > allowed || limited == 0 {
		t.Fatalf("%d acked, %d limited; the shared limit allows %d", acks, limited, allowed)
	}
	if n := countMessages(t, c, conv); n != acks {
		t.Fatalf("%d messages stored, %d acked", n, acks)
	}
	// After retryAfterMs the refused frame, sent again, is accepted.
	time.Sleep(time.Duration(refused.num("retryAfterMs")) * time.Millisecond)
	owner := onA
	if refused.str("ref")[2] == 'b' {
		owner = onB
	}
	owner.sendMessage(conv, "flood", refused.str("ref"))
	if n := countMessages(t, c, conv); n != acks+1 {
		t.Fatalf("%d messages stored, want %d", n, acks+1)
	}
}

func TestSocketCapCountsEveryInstance(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_MAX_SOCKETS_PER_USER": "2"})
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	first, second := dialClient(t, a, ada), dialClient(t, a, ada)
	// A pong means the socket is past its admission.
	first.pingPast("")
	second.pingPast("")

	third := dialClient(t, b, ada)
	if code := third.waitClosed(); code != 4029 {
		t.Fatalf("third socket closed with %d, want 4029", code)
	}
	// The sockets already open are untouched, and other users are not
	// counted against Ada.
	first.pingPast("")
	second.pingPast("")
	dialClient(t, b, bob).pingPast("")

	// A socket that closes frees its place for one on another instance.
	_ = first.ws.Close()
	rdb, _ := testenv.Redis(t)
	key := kv.Keys{Prefix: c.prefix}.UserSockets(ada.ID)
	deadline := time.Now().Add(wait)
	for rdb.ZCard(context.Background(), key).Val() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the closed socket still counts after %s", wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	dialClient(t, b, ada).pingPast("")

	// A killed instance's sockets stop counting once their entries expire
	// (60 s without a heartbeat); their expiry is moved into the past here
	// instead of waiting. The next admission drops them.
	a.kill(t)
	onA := fmt.Sprintf("-%d/", a.cmd.Process.Pid)
	stale := 0
	for _, m := range rdb.ZRangeWithScores(context.Background(), key, 0, -1).Val() {
		if name := m.Member.(string); strings.Contains(name, onA) {
			rdb.ZAdd(context.Background(), key, redis.Z{Score: float64(time.Now().Add(-time.Second).UnixMilli()), Member: name})
			stale++
		}
	}
	if stale != 1 {
		t.Fatalf("%d entries of the killed instance, want 1", stale)
	}
	dialClient(t, b, ada).pingPast("")
	if n := rdb.ZCard(context.Background(), key).Val(); n != 2 {
		t.Fatalf("%d sockets counted, want the 2 on the live instance", n)
	}
}

// sessionID is the id of the session behind a bare token.
func sessionID(t *testing.T, c *cluster, token string) string {
	t.Helper()
	var id string
	if err := c.db.Pool.QueryRow(context.Background(), `select id from "session" where token = $1`, token).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// secondSession signs u in once more (another device) and returns it as a
// TestUser with that session's token.
func secondSession(t *testing.T, c *cluster, u testenv.TestUser) testenv.TestUser {
	t.Helper()
	other := u
	other.Token = auth.GenerateID(32)
	if _, err := c.db.Pool.Exec(context.Background(), `insert into "session"(id, token, "userId", "expiresAt", "updatedAt", "ipAddress", "userAgent")
		values ($1, $2, $3, now() + interval '1 day', now(), '', '')`, auth.GenerateID(32), other.Token, u.ID); err != nil {
		t.Fatal(err)
	}
	return other
}

// endSessions does what functions/auth does on sign-out, revoke-session,
// revoke-other-sessions and change-password: the rows go, then the notice.
func endSessions(t *testing.T, c *cluster, userID string, ids ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.db.Pool.Exec(ctx, `delete from "session" where id = any($1)`, ids); err != nil {
		t.Fatal(err)
	}
	rdb, _ := testenv.Redis(t)
	if err := events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix}).SessionsRevoked(ctx, userID, ids); err != nil {
		t.Fatal(err)
	}
}

// revocationBound is how long a revoked session's socket may stay open in
// these tests. The clusters here check sessions every 20 s (the heartbeat,
// a third of RELAY_ACTIVE_TTL), so only the notice closes them sooner.
const revocationBound = 5 * time.Second

// waitClosedWithin waits until d after since for the relay to close p, and
// returns the close code and how long after since it was seen closed.
func waitClosedWithin(t *testing.T, p *peer, since time.Time, d time.Duration) (int, time.Duration) {
	t.Helper()
	select {
	case <-p.closed:
		return p.closeCode, time.Since(since)
	case <-time.After(time.Until(since.Add(d))):
		t.Fatalf("socket of a revoked session still open after %s", d)
		return 0, 0
	}
}

func TestSignOutClosesTheSessionsSocketsOnEveryInstanceAtOnce(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_ACTIVE_TTL": "60s"})
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada})
	onA, onB := dialClient(t, a, ada), dialClient(t, b, ada)
	onA.pingPast("")
	onB.pingPast("")

	published := time.Now()
	endSessions(t, c, ada.ID, sessionID(t, c, ada.Token))
	// Sent after the sign-out, usually before the socket heard of it. When
	// the relay was quicker and has closed the socket already, the write
	// fails, which is as good: nothing can be stored.
	onB.wmu.Lock()
	_ = onB.ws.WriteJSON(map[string]any{"type": "send_message", "conversationId": conv, "content": "after sign-out", "clientMessageId": "late-1"})
	onB.wmu.Unlock()
	for name, p := range map[string]*peer{"A": onA, "B": onB} {
		code, took := waitClosedWithin(t, p, published, revocationBound)
		t.Logf("socket on %s seen closed %s after the sign-out began", name, took)
		if code != 4001 {
			t.Fatalf("socket on %s closed with %d, want 4001", name, code)
		}
	}
	for len(onB.frames) > 0 {
		if f := onB.next(0); f.str("type") == "message_ack" {
			t.Fatalf("a message sent after sign-out was acknowledged: %v", f)
		}
	}
	if n := countMessages(t, c, conv); n != 0 {
		t.Fatalf("%d messages stored after sign-out", n)
	}
	// The sockets can not come back with the ended session.
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+b.addr+"/ws", http.Header{"Authorization": {"Bearer " + ada.Token}})
	if err == nil {
		ws.Close()
	}
	if resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("upgrade with an ended session: %v %v", resp, err)
	}
}

func TestRevokeOtherSessionsKeepsTheCurrentOne(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_ACTIVE_TTL": "60s"})
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	phone := secondSession(t, c, ada)
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada})
	current := dialClient(t, a, ada)
	phoneOnA, phoneOnB := dialClient(t, a, phone), dialClient(t, b, phone)
	for _, p := range []*peer{current, phoneOnA, phoneOnB} {
		p.pingPast("")
	}

	published := time.Now()
	endSessions(t, c, ada.ID, sessionID(t, c, phone.Token))
	for name, p := range map[string]*peer{"A": phoneOnA, "B": phoneOnB} {
		code, took := waitClosedWithin(t, p, published, revocationBound)
		t.Logf("other session's socket on %s seen closed %s after the revocation began", name, took)
		if code != 4001 {
			t.Fatalf("socket on %s closed with %d, want 4001", name, code)
		}
	}
	// The current session's socket neither closed nor saw the notice.
	current.pingPast("sessions_revoked")
	current.sendMessage(conv, "still here", "keep-1")
	if n := countMessages(t, c, conv); n != 1 {
		t.Fatalf("%d messages stored, want 1", n)
	}
}
