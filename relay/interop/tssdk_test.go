package interop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/npm"
	"github.com/gorilla/websocket"
)

// The TypeScript agent SDK (relay/agentsdk-ts) and its example echo agent,
// compiled with the pinned tsc and run by Node 20 against real relay
// processes. drive/drive.ts holds the SDK-side scenarios.

var (
	tsBuildMu sync.Mutex
	tsBuilt   = map[string]bool{}
)

// tsPackage installs a TypeScript package's pinned npm packages and compiles
// it (relay/agentsdk-ts, relay/client-js) once per test run.
func tsPackage(t *testing.T, rel string) string {
	t.Helper()
	dir, err := filepath.Abs(rel)
	if err != nil {
		t.Fatal(err)
	}
	tsBuildMu.Lock()
	defer tsBuildMu.Unlock()
	if !tsBuilt[dir] {
		npm.Build(t, dir)
		tsBuilt[dir] = true
	}
	return dir
}

// tsSDK is the agent SDK's folder, built.
func tsSDK(t *testing.T) string { return tsPackage(t, "../agentsdk-ts") }

// tsProc is a Node program of the SDK running until the test ends: its
// stdout JSON lines arrive on Lines, its stderr is kept (and matched by
// waitLog), and its stdin is open for the scenarios that wait on it.
type tsProc struct {
	cmd    *exec.Cmd
	Lines  chan map[string]any
	stdin  io.WriteCloser
	mu     sync.Mutex
	stderr bytes.Buffer
	logs   chan string
	exited chan struct{}
}

func startTS(t *testing.T, script string, env ...string) *tsProc {
	t.Helper()
	return startNodeIn(t, tsSDK(t), script, env...)
}

// startNodeIn runs a Node program in dir (script may start with node's flags).
func startNodeIn(t *testing.T, dir, script string, env ...string) *tsProc {
	t.Helper()
	cmd := exec.Command("node", strings.Fields(script)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &tsProc{cmd: cmd, Lines: make(chan map[string]any, 64), logs: make(chan string, 256), exited: make(chan struct{})}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go func() { // stdout until the process exits
		defer readers.Done()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.Lines <- m
			}
		}
		close(p.Lines)
	}()
	go func() { // stderr until the process exits
		defer readers.Done()
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.logs <- sc.Text():
			default:
			}
		}
	}()
	go func() { // the waiter
		readers.Wait()
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s stderr:\n%s", script, p.stderrText())
		}
	})
	return p
}

func (p *tsProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// event returns the next stdout line whose "event" is want.
func (p *tsProc) event(t *testing.T, want string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-p.Lines:
			if !ok {
				t.Fatalf("node exited before %q; stderr:\n%s", want, p.stderrText())
			}
			if m["event"] == want {
				return m
			}
			if m["event"] == "failed" {
				t.Fatalf("node scenario failed before %q: %v", want, m)
			}
			t.Logf("node: %v", m)
		case <-deadline:
			t.Fatalf("node: no %q event within %v", want, timeout)
		}
	}
}

// waitLog waits for a stderr line containing s.
func (p *tsProc) waitLog(t *testing.T, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case l := <-p.logs:
			if strings.Contains(l, s) {
				return
			}
		case <-p.exited:
			t.Fatalf("node exited before logging %q:\n%s", s, p.stderrText())
		case <-deadline:
			t.Fatalf("node did not log %q within %v:\n%s", s, timeout, p.stderrText())
		}
	}
}

// wait waits for the process to exit and returns its exit code.
func (p *tsProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("node did not exit within %v", timeout)
		return -1
	}
}

// The TypeScript example agent, run as its own process, answers through the
// real relay in both of its modes, as local/echoagent does: status first,
// word by word, a regenerate's take, "/later" as an agent_message; SIGINT
// stops it with exit 0.
func TestTSEchoAgentAnswersThroughRelay(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	for _, mode := range []string{"delta", "accumulated"} {
		agentID, token := c.seedAgent(t, user.ID, "TS Echo "+mode, "ts-echo-"+mode)
		conv := c.seedConversation(t, user.ID, agentID)
		// The accumulated run uses Node's own WebSocket (undici, behind a flag
		// in Node 20), as Deno, Bun and Node 22 have it; the delta run uses ws.
		script, socket := "dist/examples/echo.js", `"websocket":"ws"`
		if mode == "accumulated" {
			script, socket = "--experimental-websocket dist/examples/echo.js", `"websocket":"native"`
		}
		p := startTS(t, script, "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL(),
			"ECHO_MODE="+mode, "ECHO_DELAY=1ms")
		p.waitLog(t, socket, 15*time.Second)
		cl := dialClient(t, relay.ClientURL(), user.Token)
		msg := "Wie spät ist es in 東京?  Sag 🙂\nbitte"
		r := cl.ask(conv, msg, 20*time.Second)
		want := "You said: " + msg
		if r.End.Status != protocol.StatusComplete || r.Assembled != want || r.End.Content != want {
			t.Fatalf("%s: ended %s with %q, assembled %q", mode, r.End.Status, r.End.Content, r.Assembled)
		}
		if r.Chunks < 1 || r.Chunks > 11 {
			t.Fatalf("%s: %d chunks, want 1 to 11", mode, r.Chunks)
		}
		if status, content := c.savedReply(t, r.MessageID); status != "complete" || content != want {
			t.Fatalf("%s: saved %s %q", mode, status, content)
		}
		if len(r.Statuses) != 1 || r.Statuses[0].State != protocol.StateWriting || r.Statuses[0].Label == "" || r.StatusesAfter[0] != 0 {
			t.Fatalf("%s: stream_status %+v after %v chunks", mode, r.Statuses, r.StatusesAfter)
		}
		if mode == "delta" {
			// Asked again: the task carries regenerate, and echo says which take.
			cl.send(&protocol.Regenerate{ConversationID: conv, MessageID: r.Ack.Message.ID})
			end := cl.followRegenerate(t, 20*time.Second)
			if end.Status != protocol.StatusComplete || end.Content != "(take 2) "+want {
				t.Fatalf("regenerated reply ended %s with %q", end.Status, end.Content)
			}
			echoLater(t, cl, conv, agentID)
		}
		_ = p.cmd.Process.Signal(os.Interrupt)
		if code := p.wait(t, 15*time.Second); code != 0 {
			t.Fatalf("%s: echo agent exited %d after SIGINT:\n%s", mode, code, p.stderrText())
		}
	}
}

// followRegenerate reads frames until the regenerated reply's stream_end.
func (c *goClient) followRegenerate(t *testing.T, timeout time.Duration) *protocol.StreamEnd {
	t.Helper()
	var replyID string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		switch f := c.recv(time.Until(deadline)).(type) {
		case *protocol.RegenerateAck:
			replyID = f.Reply.MessageID
		case *protocol.StreamEnd:
			if replyID != "" && f.MessageID == replyID {
				return f
			}
		case *protocol.ErrorFrame:
			t.Fatalf("relay error: %+v", f)
		}
	}
	t.Fatal("no stream_end of the regenerated reply")
	return nil
}

// The agent's socket is cut mid-reply; the SDK reconnects and finishes the
// task it was given on the old socket, and the client gets exactly the text.
func TestTSSDKFinishesTaskAcrossReconnect(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Steady TS", "steady-ts")
	conv := c.seedConversation(t, user.ID, agentID)
	proxy := newCutProxy(t, "127.0.0.1:"+strconv.Itoa(relay.Port))
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=steady", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+wsURL(proxy.Addr(), protocol.AgentPath))
	ready := p.event(t, "ready", 15*time.Second)
	if a, _ := ready["agent"].(map[string]any); a["id"] != agentID || a["handle"] != "steady-ts" {
		t.Fatalf("auth_ok seen by the SDK: %v", ready)
	}
	var want strings.Builder
	for i := range 200 {
		fmt.Fprintf(&want, "Stück %d — ✓ ", i)
	}
	cl := dialClient(t, relay.ClientURL(), user.Token)
	go func() { // the conductor: cut the agent's socket halfway, then let it go on
		for m := range p.Lines {
			if m["event"] == "halfway" {
				time.Sleep(50 * time.Millisecond) // let the first half reach the relay
				proxy.cut()
				time.Sleep(200 * time.Millisecond) // several backoff periods: reconnects happen meanwhile
				_, _ = io.WriteString(p.stdin, "resume\n")
				return
			}
		}
	}()
	r := cl.ask(conv, "count to 200", 30*time.Second)
	if r.End.Status != protocol.StatusComplete {
		t.Fatalf("ended %s (%+v)", r.End.Status, r.End.Error)
	}
	if r.Assembled != want.String() || r.End.Content != want.String() {
		t.Fatalf("client assembled %d bytes, end content %d bytes, agent sent %d", len(r.Assembled), len(r.End.Content), want.Len())
	}
	if status, content := c.savedReply(t, r.MessageID); status != "complete" || content != want.String() {
		t.Fatalf("saved %s with %d bytes", status, len(content))
	}
}

// A member's cancel_stream aborts the task's AbortSignal with the relay's
// reason; later writes and the end are refused locally, nothing more is sent.
func TestTSSDKCancelAbortsSignal(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Cancel TS", "cancel-ts")
	conv := c.seedConversation(t, user.ID, agentID)
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=cancel", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL())
	p.event(t, "ready", 15*time.Second)
	cl := dialClient(t, relay.ClientURL(), user.Token)
	cl.send(&protocol.SendMessage{ConversationID: conv, Content: "erzähl was", ClientMessageID: "m-" + testenv.RandomID(8)})
	p.event(t, "streaming", 15*time.Second)
	// The cancel is sent once the chunk is on screen: the relay has read it
	// then, so the cancelled reply keeps it (a cancel the relay handles
	// before it reads a chunk ends the reply without it).
	var replyID string
	var status *protocol.StreamStatus
	shown := ""
	deadline := time.Now().Add(15 * time.Second)
	for replyID == "" || status == nil || shown != "Ich fange an … " {
		if time.Now().After(deadline) {
			t.Fatalf("no stream_start, stream_status and the first chunk (have %q)", shown)
		}
		switch f := cl.recv(time.Until(deadline)).(type) {
		case *protocol.StreamStart:
			replyID = f.MessageID
		case *protocol.StreamStatus:
			status = f
		case *protocol.StreamChunk:
			if f.MessageID == replyID && f.Offset == int64(len(shown)) {
				shown += f.Delta
			}
		}
	}
	if status.State != protocol.StateThinking || status.Label != "Überlege …" {
		t.Fatalf("stream_status = %+v", status)
	}
	cl.send(&protocol.CancelStream{MessageID: replyID})
	ab := p.event(t, "aborted", 15*time.Second)
	if ab["name"] != "CancelledError" || ab["reason"] != "user_cancelled" || ab["after"] != "CancelledError" || ab["end"] != "CancelledError" {
		t.Fatalf("the task saw %v", ab)
	}
	for time.Now().Before(deadline) {
		if f, ok := cl.recv(time.Until(deadline)).(*protocol.StreamEnd); ok && f.MessageID == replyID {
			if f.Status != protocol.StatusCancelled || f.Content != "Ich fange an … " {
				t.Fatalf("stream_end = %+v", f)
			}
			break
		}
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("scenario exited %d", code)
	}
}

// A regenerated token (new hash, then agent_token_revoked on the agent's
// channel) stops the SDK with RevokedError instead of reconnecting; the old
// token is then refused with AuthError unauthorized.
func TestTSSDKStopsOnRevokedToken(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Revoked TS", "revoked-ts")
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=revoked", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL())
	p.event(t, "ready", 15*time.Second)
	ctx := context.Background()
	newSum := sha256.Sum256([]byte("ari_" + testenv.RandomID(24)))
	if _, err := c.DB.Pool.Exec(ctx, `update agents set token_hash = $2 where id = $1`, agentID, newSum[:]); err != nil {
		t.Fatal(err)
	}
	rdb, _ := testenv.Redis(t)
	ev, err := events.New(events.AgentTokenRevoked, "", map[string]string{"agentId": agentID})
	if err != nil {
		t.Fatal(err)
	}
	if err := events.NewPublisher(rdb, kv.Keys{Prefix: c.RedisPrefix}).ToAgent(ctx, agentID, ev); err != nil {
		t.Fatal(err)
	}
	if m := p.event(t, "stopped", 15*time.Second); m["err"] != "RevokedError" {
		t.Fatalf("stopped with %v, want RevokedError", m)
	}
	if m := p.event(t, "reconnect", 15*time.Second); m["err"] != "AuthError" || m["code"] != "unauthorized" {
		t.Fatalf("connect with the old token: %v, want AuthError unauthorized", m)
	}
}

// A second connection of the same agent takes over: the first stops with
// ReplacedError (close 4004) and does not fight back; the second stops cleanly.
func TestTSSDKStopsWhenReplaced(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	_, token := c.seedAgent(t, user.ID, "Twice TS", "twice-ts")
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=replaced", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL())
	m := p.event(t, "stopped", 15*time.Second)
	if m["err"] != "ReplacedError" || m["secondUp"] != true || m["secondErr"] != nil {
		t.Fatalf("replaced: %v", m)
	}
}

// post (agent_message): stored once per clientMessageId, a retry answers the
// same message, a foreign conversation is a PostError not_found.
func TestTSSDKPost(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Poster TS", "poster-ts")
	conv := c.seedConversation(t, user.ID, agentID)
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=post", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL(), "CONVERSATION_ID="+conv)
	m := p.event(t, "posted", 15*time.Second)
	first, _ := m["first"].(map[string]any)
	again, _ := m["again"].(map[string]any)
	refused, _ := m["refused"].(map[string]any)
	if first["messageId"] == nil || first["messageId"] != again["messageId"] || first["seq"] != again["seq"] || first["clientMessageId"] != "am-drive-1" {
		t.Fatalf("posts: %v then %v", first, again)
	}
	if refused["name"] != "PostError" || refused["code"] != "not_found" {
		t.Fatalf("post to a foreign conversation: %v", refused)
	}
	var n int
	if err := c.DB.Pool.QueryRow(context.Background(), `select count(*) from messages where conversation_id = $1 and sender_agent_id = $2`, conv, agentID).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored %d agent messages (%v), want 1", n, err)
	}
}

// How many chunks per second one SDK process writes. Printed, not asserted:
// first against a sink that reads as fast as Go can (the SDK's own ceiling),
// then end to end through a real relay instance to a client (the relay's
// Redis round trips bound that one; README "Capacity").
func TestTSSDKChunksPerSecond(t *testing.T) {
	const chunkBytes = 10
	// 1. A sink: auth_ok, then tasks; it counts agent_chunk frames.
	const sinkTasks, sinkChunks = 5, 20000
	var mu sync.Mutex
	var first, last time.Time
	got := 0
	completes := make(chan struct{}, sinkTasks)
	up := websocket.Upgrader{Subprotocols: []string{protocol.Version}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		if _, _, err := ws.ReadMessage(); err != nil { // auth
			return
		}
		_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"auth_ok","agent":{"id":"ag_sink","name":"Sink","handle":"sink"},"protocol":"ari.v1"}`))
		for i := range sinkTasks {
			task := fmt.Sprintf(`{"type":"task","taskId":"t_%d","conversationId":"c_1","messageId":"t_%d","message":{"id":"m_1","seq":1,"content":"go","sender":{"id":"u_1","name":"Ada"},"attachments":[]},"history":[]}`, i, i)
			_ = ws.WriteMessage(websocket.TextMessage, []byte(task))
		}
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			switch {
			case bytes.HasPrefix(data, []byte(`{"type":"agent_chunk"`)):
				mu.Lock()
				if got == 0 {
					first = time.Now()
				}
				got++
				last = time.Now()
				mu.Unlock()
			case bytes.HasPrefix(data, []byte(`{"type":"agent_complete"`)):
				completes <- struct{}{}
			}
		}
	}))
	defer srv.Close()
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=bench", "ARI_AGENT_TOKEN=ari_"+strings.Repeat("0", 48),
		"ARI_RELAY_URL=ws"+strings.TrimPrefix(srv.URL, "http")+protocol.AgentPath,
		"TASKS="+strconv.Itoa(sinkTasks), "CHUNKS="+strconv.Itoa(sinkChunks), "CHUNK_BYTES="+strconv.Itoa(chunkBytes))
	for range sinkTasks {
		select {
		case <-completes:
		case <-time.After(120 * time.Second):
			t.Fatalf("sink: not every task completed; %d chunks", got)
		}
	}
	p.event(t, "done", 30*time.Second)
	mu.Lock()
	sinkRate := float64(got) / last.Sub(first).Seconds()
	total := got
	mu.Unlock()
	if total != sinkTasks*sinkChunks {
		t.Fatalf("sink counted %d chunks, want %d", total, sinkTasks*sinkChunks)
	}

	// 2. Through a real relay to a client: one reply of relayChunks chunks.
	const relayChunks = 20000
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Bench TS", "bench-ts")
	conv := c.seedConversation(t, user.ID, agentID)
	q := startTS(t, "dist/drive/drive.js", "SCENARIO=bench", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL(),
		"TASKS=1", "CHUNKS="+strconv.Itoa(relayChunks), "CHUNK_BYTES="+strconv.Itoa(chunkBytes))
	q.event(t, "connected", 15*time.Second)
	cl := dialClient(t, relay.ClientURL(), user.Token)
	start := time.Now()
	r := cl.ask(conv, "flat out", 120*time.Second)
	elapsed := time.Since(start)
	if r.End.Status != protocol.StatusComplete || len(r.Assembled) != relayChunks*chunkBytes || r.End.Content != r.Assembled {
		t.Fatalf("relay bench reply ended %s with %d bytes assembled", r.End.Status, len(r.Assembled))
	}
	sdk := q.event(t, "bench", 30*time.Second)
	sdkMs, _ := sdk["ms"].(float64)
	t.Logf("TypeScript SDK, one Node %s process, %d-byte chunks: %.0f chunks/s into a sink (%d chunks over %d tasks); "+
		"through one relay instance to a client %.0f chunks/s end to end (%d chunks, send to stream_end %v; the SDK's writes took %.0f ms, %d stream_chunk frames after merging)",
		nodeVersion(t), chunkBytes, sinkRate, total, sinkTasks, float64(relayChunks)/elapsed.Seconds(), relayChunks, elapsed.Round(time.Millisecond), sdkMs, r.Chunks)
}

func nodeVersion(t *testing.T) string {
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// The SDK's own tests (node --test): PROTOCOL.md's agent-socket examples
// decode and type-check against the SDK's frame types, section 9's table
// matches them key by key, and the text, backoff and echo helpers.
func TestTSSDKUnitAndProtocolTests(t *testing.T) {
	dir := tsSDK(t)
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

// In a group, Ping's reply mentions Pong (mention("Pong Bot")): Pong's task
// carries the chain (hop 1 of 4, mentioned by ping-bot, rooted at the
// person's message) and mentionBack names Ping.
func TestTSSDKChainTask(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	pingID, pingToken := c.seedAgent(t, user.ID, "Ping Bot", "ping-bot")
	pongID, pongToken := c.seedAgent(t, user.ID, "Pong Bot", "pong-bot")
	conv := "c_" + testenv.RandomID(6)
	ctx := context.Background()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`insert into conversations(id, kind, created_by) values ($1,'group',$2)`, []any{conv, user.ID}},
		{`insert into conversation_members(conversation_id, user_id, role) values ($1,$2,'owner')`, []any{conv, user.ID}},
		{`insert into conversation_members(conversation_id, agent_id) values ($1,$2)`, []any{conv, pingID}},
		{`insert into conversation_members(conversation_id, agent_id) values ($1,$2)`, []any{conv, pongID}},
	} {
		if _, err := c.DB.Pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("seed group: %v", err)
		}
	}
	p := startTS(t, "dist/drive/drive.js", "SCENARIO=chain", "PING_TOKEN="+pingToken, "PONG_TOKEN="+pongToken, "ARI_RELAY_URL="+relay.AgentURL())
	p.event(t, "ready", 15*time.Second)
	cl := dialClient(t, relay.ClientURL(), user.Token)
	r := cl.ask(conv, "@ping-bot wie wird das Wetter in Kyoto?", 20*time.Second)
	if r.End.Content != "Ich frage @pong-bot nach dem Wetter." {
		t.Fatalf("ping's reply: %q", r.End.Content)
	}
	m := p.event(t, "pong-task", 20*time.Second)
	chain, _ := m["chain"].(map[string]any)
	by, _ := chain["mentionedBy"].(map[string]any)
	msg, _ := m["message"].(map[string]any)
	if chain["hop"] != float64(1) || chain["maxHops"] != float64(4) || chain["rootMessageId"] != r.Ack.Message.ID ||
		by["id"] != pingID || by["handle"] != "ping-bot" || m["mentionBack"] != "@ping-bot" || m["lastHop"] != false ||
		msg["id"] != r.MessageID {
		t.Fatalf("pong's task: %v", m)
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("scenario exited %d", code)
	}
}
