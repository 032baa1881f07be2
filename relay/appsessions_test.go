package main

import (
	"context"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// App sessions (PROTOCOL.md sections 7 and 15): opened, changed and ended
// through the real REST routes (the shim as a process), their events reach
// members' sockets on either relay instance; a member away finds the change
// in pending, and sync_result.appSessions lists the open session with its
// current state after the reconnect, and nothing once it ended.
func TestAppSessionEventsAndSync(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	api := c.startShim()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	agentID, _ := newAgent(t, c.db, ada, "Chess Bot")
	conv := newGroup(t, c.db, []testenv.TestUser{ada, bob}, agentID)
	must := func(want int, method, path string, u testenv.TestUser, body any) frame {
		t.Helper()
		st, out := callJSON(t, method, api+path, u, body)
		if st != want {
			t.Fatalf("%s %s: %d %v, want %d", method, path, st, out, want)
		}
		return out
	}
	must(201, "POST", "/api/developer", ada, map[string]any{"displayName": "Ada Games"})
	app := must(201, "POST", "/api/developer/apps", ada, map[string]any{"slug": "chess-" + testenv.RandomID(6), "name": "Chess"}).str("id")
	must(201, "POST", "/api/developer/apps/"+app+"/versions", ada, map[string]any{"version": "1.0.0",
		"manifest": map[string]any{"entryUrl": "https://chess.example/app"}})
	for _, u := range []testenv.TestUser{ada, bob} {
		must(201, "POST", "/api/apps/"+app+"/install", u, map[string]any{"idempotencyKey": "install-" + u.ID})
	}

	syncSessions := func(p *peer) ([]any, []any) {
		t.Helper()
		p.send(map[string]any{"type": "sync"})
		res := p.expect("sync_result")
		sessions, ok := res["appSessions"].([]any)
		if !ok {
			t.Fatalf("sync_result without appSessions: %v", res)
		}
		evs, _ := res["events"].([]any)
		return sessions, evs
	}
	pa, pb := dialClient(t, a, ada), dialClient(t, b, bob)
	for _, p := range []*peer{pa, pb} {
		if s, _ := syncSessions(p); len(s) != 0 {
			t.Fatalf("open sessions before any: %v", s)
		}
	}

	s := must(201, "POST", "/api/conversations/"+conv+"/app-sessions", ada, map[string]any{"appId": app, "mode": "shared", "agentId": agentID})
	id := s.str("id")
	for _, p := range []*peer{pa, pb} {
		f := p.expect("app_session_started")
		got := f.obj("data").obj("session")
		if f.str("conversationId") != conv || got.str("id") != id || got.num("version") != 1 || got.str("mode") != "shared" ||
			got.str("entryUrl") != "https://chess.example/app" {
			t.Fatalf("app_session_started = %v", f)
		}
	}

	// Bob's socket goes; the relay drops his channel; the change waits in
	// his pending queue.
	_ = pb.ws.Close()
	<-pb.closed
	rdb, _ := testenv.Redis(t)
	channel := kv.Keys{Prefix: c.prefix}.UserChannel(bob.ID)
	for deadline := time.Now().Add(wait); ; {
		n, err := rdb.PubSubShardNumSub(context.Background(), channel).Result()
		if err == nil && n[channel] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("bob's channel still has %v subscribers (%v)", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(200, "PUT", "/api/app-sessions/"+id+"/state", ada, map[string]any{"version": 1, "state": map[string]any{"board": "e4", "turn": "black"}})
	if f := pa.expect("app_session_updated"); f.obj("data").obj("session").num("version") != 2 {
		t.Fatalf("app_session_updated = %v", f)
	}
	st, out := callJSON(t, "PUT", api+"/api/app-sessions/"+id+"/state", bob, map[string]any{"version": 1, "state": map[string]any{"board": "d4"}})
	if st != 409 || out.obj("error").str("code") != "version_conflict" {
		t.Fatalf("stale write: %d %v", st, out)
	}

	// Bob is back, on the other instance: the open session with its state,
	// and the event he missed.
	pb = dialClient(t, a, bob)
	sessions, evs := syncSessions(pb)
	if len(sessions) != 1 {
		t.Fatalf("appSessions after reconnect = %v", sessions)
	}
	got := frame(sessions[0].(map[string]any))
	if got.str("id") != id || got.num("version") != 2 || got.obj("state").str("board") != "e4" || got.str("conversationId") != conv ||
		got.str("appSlug") == "" || got.str("agentId") != agentID {
		t.Fatalf("appSessions[0] = %v", got)
	}
	if len(evs) != 1 || frame(evs[0].(map[string]any)).str("type") != "app_session_updated" {
		t.Fatalf("bob's pending = %v", evs)
	}

	// Bob neither opened it nor owns the conversation; Ada ends it.
	must(403, "POST", "/api/app-sessions/"+id+"/end", bob, nil)
	must(200, "POST", "/api/app-sessions/"+id+"/end", ada, nil)
	for _, p := range []*peer{pa, pb} {
		f := p.expect("app_session_ended")
		if got := f.obj("data").obj("session"); got.str("id") != id || got.str("endedBy") != ada.ID || got.str("endedAt") == "" {
			t.Fatalf("app_session_ended = %v", f)
		}
	}
	if s, _ := syncSessions(pb); len(s) != 0 {
		t.Fatalf("open sessions after the end: %v", s)
	}
}
