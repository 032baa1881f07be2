package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The browser client library (relay/client-js), compiled with the pinned
// tsc and run in Node with the `ws` package and a bearer token against real
// relay processes. drive/drive.ts holds the client-side scenarios.

func clientJS(t *testing.T) string { return tsPackage(t, "../client-js") }

// goAgent connects a Go SDK agent to url until the test ends (or stop).
func goAgent(t *testing.T, url, token string, h agentsdk.Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := agentsdk.Connect(ctx, agentsdk.Config{URL: url, Token: token, Handler: h,
		Backoff: agentsdk.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-a.Done():
		case <-time.After(15 * time.Second):
			t.Error("agent did not stop within 15s")
		}
	}
	t.Cleanup(stop)
	return stop
}

// The client's relay instance is SIGKILLed mid-reply; the client reconnects
// to the other instance, syncs, and assembles exactly the agent's text; a
// message sent while the socket was away goes out after the reconnect and is
// stored once.
func TestJSClientResumesAfterRelayKill(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Counter", "counter")
	conv := c.seedConversation(t, user.ID, agentID)

	const chunks = 120
	var want strings.Builder
	for i := range chunks {
		fmt.Fprintf(&want, "Teil %d — ✓ 東京 ", i)
	}
	halfway := make(chan struct{})
	resume := make(chan struct{})
	goAgent(t, b.AgentURL(), token, func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
		if task.Message.Content == "noch eins" {
			return s.CompleteWith("zwei")
		}
		for i := range chunks {
			if i == chunks/3 {
				close(halfway)
				select {
				case <-resume:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := s.Write(fmt.Sprintf("Teil %d — ✓ 東京 ", i)); err != nil {
				return err
			}
		}
		return s.Complete()
	})
	urls, _ := json.Marshal([]string{a.ClientURL(), b.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=resume", "URLS="+string(urls), "TOKEN="+user.Token,
		"CONVERSATION_ID="+conv, "MESSAGE=zähl bis 120")
	p.event(t, "acked", 15*time.Second)
	select {
	case <-halfway:
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not reach a third of its reply")
	}
	p.event(t, "streaming", 15*time.Second)
	if err := a.cmd.Process.Kill(); err != nil { // SIGKILL: no close frame, no goodbye
		t.Fatal(err)
	}
	p.event(t, "state", 15*time.Second) // reconnecting
	time.Sleep(100 * time.Millisecond)  // the reply goes on while the client is away
	close(resume)
	r := p.event(t, "reply", 30*time.Second)
	if r["status"] != "complete" || r["content"] != want.String() || r["endedWhileAway"] != false {
		t.Fatalf("client's reply: %v with %d bytes, want complete with %d", r["status"], len(fmt.Sprint(r["content"])), want.Len())
	}
	second := p.event(t, "second", 30*time.Second)
	if second["acked"] == nil {
		t.Fatalf("the message sent while away was not acknowledged: %v", second)
	}
	var n int
	if err := c.DB.Pool.QueryRow(context.Background(), `select count(*) from messages where conversation_id = $1 and client_message_id = 'm-second-1'`, conv).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored the second message %d times (%v)", n, err)
	}
}

// Two sockets of one user: both assemble the reply; mark_read on one reaches
// the other as read_updated; cancel ends a streaming reply for both; a
// focused socket hears the agent go offline.
func TestJSClientFlow(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Teller", "teller")
	conv := c.seedConversation(t, user.ID, agentID)
	stopAgent := goAgent(t, relay.AgentURL(), token, func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
		if task.Message.Content != "slow" {
			for _, w := range []string{"Es ", "war ", "einmal 🙂."} {
				if err := s.Write(w); err != nil {
					return err
				}
			}
			return s.Complete()
		}
		for {
			if err := s.Write("… "); err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	urls, _ := json.Marshal([]string{relay.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=flow", "URLS="+string(urls), "TOKEN="+user.Token, "CONVERSATION_ID="+conv)
	first := p.event(t, "first", 20*time.Second)
	if first["a"] != "Es war einmal 🙂." || first["b"] != first["a"] || first["status"] != "complete" {
		t.Fatalf("first reply: %v", first)
	}
	read := p.event(t, "read", 15*time.Second)
	if d, _ := read["data"].(map[string]any); d["userId"] != user.ID || d["seq"] != float64(2) {
		t.Fatalf("read_updated on the other socket: %v", read)
	}
	cancelled := p.event(t, "cancelled", 20*time.Second)
	if cancelled["a"] != "cancelled" || cancelled["b"] != "cancelled" || !strings.HasPrefix(fmt.Sprint(cancelled["content"]), "… ") {
		t.Fatalf("cancel: %v", cancelled)
	}
	focused := p.event(t, "focused", 15*time.Second)
	if ev := fmt.Sprint(focused["events"]); !strings.Contains(ev, "message_new") {
		t.Fatalf("the other socket's events: %v", ev)
	}
	// The focus frame (visible: no document in Node) has made the socket a
	// watcher of the agent before the agent leaves.
	rdb, _ := testenv.Redis(t)
	keys := kv.Keys{Prefix: c.RedisPrefix}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		ok, err := presence.Focused(context.Background(), rdb, keys, user.ID, conv)
		if err != nil {
			t.Fatal(err)
		}
		n, err := rdb.ZCard(context.Background(), keys.AgentWatchers(agentID)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ok && n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client's focus did not reach presence within 10 s")
		}
	}
	stopAgent()
	pr := p.event(t, "presence", 20*time.Second)
	if m, _ := pr["presence"].(map[string]any); m["agentId"] != agentID || m["online"] != false {
		t.Fatalf("presence: %v", pr)
	}
}

// The library's own tests (node --test): PROTOCOL.md's client-socket
// examples decode and type-check against its types, the frame and event
// tables match them key by key; offsets, de-duplication, resume and resend
// with a scripted socket.
func TestJSClientUnitAndProtocolTests(t *testing.T) {
	dir := clientJS(t)
	cmd := exec.Command("node", "--test", "dist/test/")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("# fail 0")) {
		t.Fatalf("node --test:\n%s", out)
	}
}

// A web app on another site: no cookie and no bearer, a trusted Origin and a
// socket ticket in the first frame, a fresh one for each connect (the first
// instance is SIGKILLed between two messages).
func TestJSClientSocketTicket(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	const origin = "http://app.test:3501"
	a := c.startRelay(t, "BETTER_AUTH_URL="+origin)
	b := c.startRelay(t, "BETTER_AUTH_URL="+origin)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Echo", "echo")
	conv := c.seedConversation(t, user.ID, agentID)
	goAgent(t, b.AgentURL(), token, func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
		return s.CompleteWith("You said: " + task.Message.Content)
	})
	rdb, _ := testenv.Redis(t)
	tickets := auth.Tickets{Redis: rdb, Keys: kv.Keys{Prefix: c.RedisPrefix}}
	var sessionID string
	if err := c.DB.Pool.QueryRow(context.Background(), `select id from "session" where token = $1`, user.Token).Scan(&sessionID); err != nil {
		t.Fatal(err)
	}
	urls, _ := json.Marshal([]string{a.ClientURL(), b.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=ticket", "URLS="+string(urls), "ORIGIN="+origin, "CONVERSATION_ID="+conv)
	// reply answers the scenario's ticket requests until its next reply.
	reply := func() map[string]any {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case m, ok := <-p.Lines:
				if !ok {
					t.Fatalf("node exited; stderr:\n%s", p.stderrText())
				}
				switch m["event"] {
				case "need-ticket":
					tk, _, err := tickets.Issue(context.Background(), auth.Caller{ID: user.ID, Name: user.Name, SessionID: sessionID})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := io.WriteString(p.stdin, tk+"\n"); err != nil {
						t.Fatal(err)
					}
				case "reply":
					return m
				case "failed":
					t.Fatalf("scenario failed: %v", m)
				}
			case <-deadline:
				t.Fatal("no reply within 30 s")
			}
		}
	}
	if r := reply(); r["content"] != "You said: eins" || r["tickets"] != float64(1) || r["sender"] != user.ID {
		t.Fatalf("first reply over a ticket: %v", r)
	}
	if err := a.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	if r := reply(); r["content"] != "You said: zwei" || r["tickets"] != float64(2) {
		t.Fatalf("reply after the reconnect: %v", r)
	}
}
