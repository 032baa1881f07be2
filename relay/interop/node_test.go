package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// nodeDir is testdata with its pinned packages installed (`npm ci` when
// node_modules is missing, so a fresh clone works).
func nodeDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	npm.Install(t, dir)
	return dir
}

// nodeProc is a Node script running until the test ends; its stdout lines
// (one JSON object each) arrive on Lines.
type nodeProc struct {
	Lines  chan map[string]any
	stderr bytes.Buffer
}

func startNode(t *testing.T, dir, script string, env ...string) *nodeProc {
	t.Helper()
	cmd := exec.Command("node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	p := &nodeProc{Lines: make(chan map[string]any, 64)}
	cmd.Stderr = &p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { // reads stdout until the process exits; waited for in Cleanup
		defer close(done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				p.Lines <- m
			}
		}
		_ = cmd.Wait()
		close(p.Lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() && p.stderr.Len() > 0 {
			t.Logf("%s stderr:\n%s", script, p.stderr.String())
		}
	})
	return p
}

// waitEvent returns the next line whose "event" is want.
func (p *nodeProc) waitEvent(t *testing.T, want string) map[string]any {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-p.Lines:
			if !ok {
				t.Fatalf("node exited before %q; stderr:\n%s", want, p.stderr.String())
			}
			if m["event"] == want {
				return m
			}
			t.Logf("node: %v", m)
		case <-timeout:
			t.Fatalf("node: no %q event", want)
		}
	}
}

type nodeReply struct {
	Content    string         `json:"content"`
	MessageID  string         `json:"messageId"`
	Ack        map[string]any `json:"ack"`
	Status     string         `json:"status"`
	Error      any            `json:"error"`
	Assembled  string         `json:"assembled"`
	EndContent string         `json:"endContent"`
	Chunks     int            `json:"chunks"`
	Gaps       int            `json:"gaps"`
}

// A client and an agent that know nothing but PROTOCOL.md and the ws package
// complete streamed replies, in delta and in accumulated mode, through the real
// relay; the client's assembled text equals the agent's byte for byte.
func TestNodeClientAndAgentStreamThroughRelay(t *testing.T) {
	dir := nodeDir(t)
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Node Echo", "node-echo")
	conv := c.seedConversation(t, user.ID, agentID)

	reply := strings.Repeat("Grüße aus Node 🙂 東京 — ", 25) + "fin."
	const chunkChars = 3
	wantChunks := (utf8.RuneCountInString(reply) + chunkChars - 1) / chunkChars
	agent := startNode(t, dir, "agent.mjs",
		"ARI_AGENT_URL="+relay.AgentURL(), "ARI_AGENT_TOKEN="+token, "REPLY_TEXT="+reply, "CHUNK_CHARS=3")
	ready := agent.waitEvent(t, "ready")
	if a, _ := ready["agent"].(map[string]any); a["id"] != agentID || a["handle"] != "node-echo" || ready["protocol"] != "ari.v1" {
		t.Fatalf("auth_ok seen by the Node agent: %v", ready)
	}

	messages := []string{"delta please: ünïcödé 🙂", "accumulated please"}
	msgJSON, _ := json.Marshal(messages)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "ARI_CLIENT_URL="+relay.ClientURL(), "ARI_SESSION="+user.Token,
		"CONVERSATION_ID="+conv, "MESSAGES="+string(msgJSON))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client.mjs: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	var got []nodeReply
	for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
		var r nodeReply
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("client output %q: %v", line, err)
		}
		got = append(got, r)
	}
	if len(got) != len(messages) {
		t.Fatalf("client saw %d replies, want %d: %s", len(got), len(messages), out)
	}
	for i, r := range got {
		if r.Content != messages[i] || r.Ack == nil || r.Ack["content"] != messages[i] || r.Ack["status"] != "complete" {
			t.Fatalf("reply %d: ack %v for %q", i, r.Ack, r.Content)
		}
		if r.Status != "complete" || r.Error != nil {
			t.Fatalf("reply %d ended %s (%v)", i, r.Status, r.Error)
		}
		if r.Assembled != reply {
			t.Fatalf("reply %d: client assembled %d bytes != agent's %d bytes\n got: %q\nwant: %q", i, len(r.Assembled), len(reply), r.Assembled, reply)
		}
		// At most one stream_chunk per agent_chunk; fewer if the relay merges.
		if r.EndContent != reply || r.Gaps != 0 || r.Chunks < 1 || r.Chunks > wantChunks {
			t.Fatalf("reply %d: end content equal %v, gaps %d, chunks %d (want 1 to %d)", i, r.EndContent == reply, r.Gaps, r.Chunks, wantChunks)
		}
		if status, content := c.savedReply(t, r.MessageID); status != "complete" || content != reply {
			t.Fatalf("reply %d saved as %s with %d bytes", i, status, len(content))
		}
	}
	for i, mode := range []string{"delta", "accumulated"} {
		task := agent.waitEvent(t, "task")
		if task["mode"] != mode || task["content"] != messages[i] {
			t.Fatalf("task %d seen by the agent: %v", i, task)
		}
		if s, _ := task["sender"].(map[string]any); s["id"] != user.ID || s["name"] != "Ada" {
			t.Fatalf("task %d sender: %v", i, task["sender"])
		}
	}
}
