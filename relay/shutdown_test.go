package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// How a relay instance ends: on SIGTERM, and how one socket ends when its
// handling panics.

// waitExited waits for the instance's process to end and checks it exited 0.
func (p *relayProc) waitExited(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(wait + 5*time.Second):
		t.Fatalf("relay %s did not exit after SIGTERM", p.addr)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("relay %s exited with %d\n%s", p.addr, code, p.out.String())
	}
}

func (p *relayProc) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// An A2A call cannot move to another instance: on SIGTERM its reply ends in
// error interrupted with the text so far, seen by the user's socket on the
// instance that stays.
func TestA2AReplyEndsInterruptedOnSIGTERM(t *testing.T) {
	base := startA2APeer(t, "v03")
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	if _, err := c.db.Pool.Exec(t.Context(), `update agents set a2a_endpoint = $2 where id = $1`, w.agentID, base+"/open"); err != nil {
		t.Fatal(err)
	}
	onA := dialClient(t, a, w.users[0]) // the send's instance makes the call
	onB := dialClient(t, b, w.users[0])
	onA.sendMessage(w.conv, "slow please", "term-1")
	reply := onB.expect("stream_start").str("messageId")
	asm := &assembler{}
	if err := asm.apply(onB.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })); err != nil {
		t.Fatal(err)
	}

	a.terminate(t)
	got := onB.collect(reply, asm)
	if e := got.ended.obj("error"); got.ended.str("status") != "error" || e.str("code") != "interrupted" || got.ended.str("content") != "partial " {
		t.Fatalf("stream_end = %v", got.ended)
	}
	if code := onA.waitClosed(); code != 1001 {
		t.Fatalf("the client socket on the stopping instance closed with %d, want 1001", code)
	}
	a.waitExited(t)
	if status, content := replyStatus(t, c.db, reply); status != "error" || content != "partial " {
		t.Fatalf("stored %s %q", status, content)
	}
}

// An upgrade whose handling is under way when the instance begins to shut
// down is answered 503 unavailable (JSON) rather than given a socket, and the
// instance still exits. The upgrade is held in its authentication: the
// session is due for its refresh, whose UPDATE waits for a row lock the test
// holds until the instance has stopped admitting sockets.
func TestUpgradeDuringShutdownIs503(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	u := w.users[0]
	// A socket that stays open until the shutdown closes it.
	open := dialClient(t, r, u)
	open.pingPast("")

	ctx := t.Context()
	if _, err := c.db.Pool.Exec(ctx, `update "session" set "expiresAt" = now() + interval '1 hour' where token = $1`, u.Token); err != nil {
		t.Fatal(err)
	}
	tx, err := c.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(context.Background()) }()
	if _, err := tx.Exec(ctx, `select 1 from "session" where token = $1 for update`, u.Token); err != nil {
		t.Fatal(err)
	}
	type answer struct {
		status int
		code   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		ws, resp, err := websocket.DefaultDialer.Dial("ws://"+r.addr+"/ws", http.Header{"Authorization": {"Bearer " + u.Token}})
		if err == nil {
			ws.Close()
			answered <- answer{status: http.StatusSwitchingProtocols}
			return
		}
		if resp == nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		answered <- answer{status: resp.StatusCode, code: body.Error.Code}
	}()
	waitFor(t, wait, "the upgrade to wait for the session's row lock", func() bool {
		var n int
		if err := c.db.Pool.QueryRow(ctx, `select count(*) from pg_stat_activity
			where datname = current_database() and wait_event_type = 'Lock' and query like 'update "session"%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	})

	r.terminate(t)
	// The listener closes after the instance has stopped admitting sockets.
	waitFor(t, wait, "the relay to stop accepting connections", func() bool {
		conn, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err != nil {
			return true
		}
		conn.Close()
		return false
	})
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case a := <-answered:
		if a.err != nil || a.status != http.StatusServiceUnavailable || a.code != "unavailable" {
			t.Fatalf("upgrade during shutdown: %d %q (%v), want 503 unavailable", a.status, a.code, a.err)
		}
	case <-time.After(wait):
		t.Fatalf("no answer to the upgrade within %s", wait)
	}
	if code := open.waitClosed(); code != 1001 {
		t.Fatalf("the open socket closed with %d, want 1001", code)
	}
	r.waitExited(t)
}

var (
	panicOnce   sync.Once
	panicBinary string
	panicErr    error
)

// panicRelay is the relay built with the ari_testpanic tag
// (relay/protocol/testpanic.go): a "test_panic" frame panics while it is
// decoded, on either socket.
func panicRelay(t *testing.T) string {
	t.Helper()
	panicOnce.Do(func() {
		panicBinary = filepath.Join(filepath.Dir(relayBinary), "relay-testpanic")
		args := append([]string{"build", "-tags", "ari_testpanic", "-o", panicBinary}, testenv.CoverBuildArgs()...)
		if raceEnabled {
			args = append(args, "-race")
		}
		if out, err := exec.Command("go", append(args, ".")...).CombinedOutput(); err != nil {
			panicErr = fmt.Errorf("building the relay with ari_testpanic: %v\n%s", err, out)
		}
	})
	if panicErr != nil {
		t.Fatal(panicErr)
	}
	return panicBinary
}

// A panic while one socket's frame is handled closes that socket with 1011
// and nothing else: the process, the user's other socket and other users go
// on, and the dead socket gives back what it held (its place under the
// user's socket cap; the agent's channel, so that a send no longer waits
// for it).
func TestPanicInASocketClosesOnlyThatSocket(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_MAX_SOCKETS_PER_USER": "2"})
	c.binary = panicRelay(t)
	r := c.start()
	w := newWorld(t, c)
	bob := testenv.NewUser(t, c.db, "Bob")
	stays := dialClient(t, r, w.users[0])
	victim := dialClient(t, r, w.users[0])
	other := dialClient(t, r, bob)
	agent := dialAgent(t, r, w.agentToken)
	victim.pingPast("")

	victim.send(map[string]any{"type": "test_panic"})
	if code := victim.waitClosed(); code != 1011 {
		t.Fatalf("the panicking socket closed with %d, want 1011", code)
	}
	// The log line may land after the close frame: wait for it, bounded.
	waitFor(t, wait, "the panic to be logged", func() bool { return strings.Contains(r.out.String(), "relay socket panic") })
	stays.pingPast("")
	other.pingPast("")
	agent.send(map[string]any{"type": "ping"})
	agent.expect("pong")
	// The dead socket's place under the cap of 2 is free again.
	again := dialClient(t, r, w.users[0])
	again.pingPast("")
	client := stays
	ack := client.sendMessage(w.conv, "noch da?", "pn-1")
	task := agent.expect("task")
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": "ja"})
	if got := client.collect(task.str("taskId"), nil); got.ended.str("content") != "ja" {
		t.Fatalf("reply after the panic = %v (ack %v)", got.ended, ack)
	}

	// The agent's socket panics: it closes 1011, and with no socket of the
	// agent anywhere a send ends agent_offline at once.
	agent.send(map[string]any{"type": "test_panic"})
	if code := agent.waitClosed(); code != 1011 {
		t.Fatalf("the panicking agent socket closed with %d, want 1011", code)
	}
	client.sendMessage(w.conv, "bist du da?", "pn-2")
	reply := client.expect("stream_start").str("messageId")
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.obj("error").str("code") != "agent_offline" {
		t.Fatalf("send to an agent whose socket panicked: %v, want agent_offline", end)
	}
	// It can come back.
	back := dialAgent(t, r, w.agentToken)
	client.sendMessage(w.conv, "und jetzt?", "pn-3")
	task = back.expect("task")
	back.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": "wieder da"})
	if got := client.collect(task.str("taskId"), nil); got.ended.str("content") != "wieder da" {
		t.Fatalf("reply after the agent came back = %v", got.ended)
	}
}
