package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

const streamedText = "Grüße, 世界 — naïve café 🙂 done"

// rejection is the test peer's refusal (server.mjs REJECTION); wantRejection
// is what users read of it: control characters gone, line break a space, the
// agent's words cut to MaxReasonBytes with an ellipsis.
var (
	rejection     = "quota exceeded:\u0007 try\nagain\u001b later ✋ " + strings.Repeat("z", 3000)
	wantRejection = func() string {
		head := "quota exceeded: try again later ✋ "
		return "the agent reported an error: " + head + strings.Repeat("z", MaxReasonBytes-len(head)-len("…")) + "…"
	}()
)

// collector applies Emit's contract the way the relay's pipeline must.
type collector struct {
	mu     sync.Mutex
	text   string
	chunks []string
	first  chan struct{}
	once   sync.Once
}

func newCollector() *collector { return &collector{first: make(chan struct{})} }

func (c *collector) emit(text string, accumulated bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if accumulated {
		c.text = text
	} else {
		c.text += text
	}
	c.chunks = append(c.chunks, text)
	c.once.Do(func() { close(c.first) })
	return nil
}

func (c *collector) get() (string, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text, slices.Clone(c.chunks)
}

var seq struct {
	sync.Mutex
	n int
}

func newTask(text string) Task {
	seq.Lock()
	seq.n++
	n := seq.n
	seq.Unlock()
	id := fmt.Sprintf("%d-%d", time.Now().UnixNano(), n)
	return Task{TaskID: "task-" + id, ConversationID: "conv-42", MessageID: "msg-" + id, Text: text}
}

func TestRealPeers(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		dialect Dialect
	}{
		{"v1", V1},      // SDK 1.3.0, v1.0 only
		{"compat", V03}, // SDK 1.3.0 through its v0.3 compat layer
		{"v03", V03},    // SDK 0.3.14, genuine v0.3
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			p := startPeer(t, tc.mode)
			testPeer(t, p, tc.mode, tc.dialect)
		})
	}
}

func testPeer(t *testing.T, p *peer, mode string, want Dialect) {
	open := Agent{ID: "agent-open-" + mode, Endpoint: p.base + "/open"}
	c := New(Options{IdleTimeout: 10 * time.Second})
	ctx := context.Background()

	run := func(t *testing.T, c *Client, a Agent, task Task) (Outcome, *collector, error) {
		t.Helper()
		col := newCollector()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := c.Run(ctx, a, task, col.emit)
		text, _ := col.get()
		if err == nil && text != out.FinalText {
			t.Errorf("emitted text %q != FinalText %q", text, out.FinalText)
		}
		return out, col, err
	}

	t.Run("streamed artifacts", func(t *testing.T) {
		out, col, err := run(t, c, open, newTask("stream please"))
		if err != nil {
			t.Fatal(err)
		}
		text, chunks := col.get()
		if out.Status != StatusComplete || text != streamedText || out.Dialect != want || out.RemoteTaskID == "" {
			t.Fatalf("outcome %+v text %q", out, text)
		}
		// Chunk by chunk, and the progress note never shown.
		if len(chunks) != 4 || chunks[0] != "Grüße, " {
			t.Fatalf("chunks %q", chunks)
		}
		if mode == "compat" {
			// It really went through the compat layer: v0.3 method, no version header.
			if m := p.stats(t).methodsFor("open"); len(m) == 0 || m[0] != "message/stream@" {
				t.Fatalf("methods %q", m)
			}
		}
	})

	t.Run("status deltas", func(t *testing.T) {
		out, _, err := run(t, c, open, newTask("status"))
		if err != nil || out.Status != StatusComplete || out.FinalText != "Hello wörld ✓" {
			t.Fatalf("%+v %v", out, err)
		}
	})

	t.Run("lone message", func(t *testing.T) {
		out, _, err := run(t, c, open, newTask("message"))
		if err != nil || out.Status != StatusComplete || out.FinalText != "Just one message ✓" {
			t.Fatalf("%+v %v", out, err)
		}
	})

	t.Run("history travels as metadata", func(t *testing.T) {
		task := newTask("echo-history")
		task.History = []Turn{{Role: "user", Text: "hi ☀"}, {Role: "agent", Name: "bot", Text: "hello"}}
		out, _, err := run(t, c, open, task)
		if err != nil || out.Status != StatusComplete {
			t.Fatalf("%+v %v", out, err)
		}
		var got []Turn
		if err := json.Unmarshal([]byte(out.FinalText), &got); err != nil || !slices.Equal(got, task.History) {
			t.Fatalf("agent saw %q (%v)", out.FinalText, err)
		}
	})

	t.Run("agent failure", func(t *testing.T) {
		out, _, err := run(t, c, open, newTask("fail"))
		if err != nil || out.Status != StatusError || out.Error != "boom: the agent failed" || out.RemoteState != "failed" {
			t.Fatalf("%+v %v", out, err)
		}
	})

	t.Run("refused before the stream", func(t *testing.T) {
		// HTTP 200 with a JSON-RPC error object instead of a stream.
		before := len(p.stats(t).methodsFor("open"))
		out, _, err := run(t, c, open, newTask("reject"))
		var re *RPCError
		if !errors.As(err, &re) || re.Code != -32004 || out.Status != StatusError || out.Error != wantRejection {
			t.Fatalf("%+v %v", out, err)
		}
		// The refusal is not a reason to step down or to call again.
		m := p.stats(t).methodsFor("open")
		if len(m) != before+1 || m[before] != want.streamMethod()+"@"+want.versionHeader() {
			t.Fatalf("calls %q after %d", m, before)
		}
	})

	t.Run("input required then the answer into the same task", func(t *testing.T) {
		out, _, err := run(t, c, open, newTask("ask"))
		if err != nil || out.Status != StatusInputRequired || out.FinalText != "Which city?" || out.RemoteTaskID == "" ||
			out.RemoteContextID != "conv-42" || out.Input == nil || out.Input.Prompt != "Which city?" || len(out.Input.Data) != 1 ||
			compact(t, out.Input.Data[0]) != `{"options":["Paris","Tōkyō"]}` {
			t.Fatalf("%+v %+v %v", out, out.Input, err)
		}
		assertRemoteState(t, p.base+"/open/rpc", want, out.RemoteTaskID, "input-required")
		next := newTask("Paris")
		next.RemoteTaskID, next.RemoteContextID = out.RemoteTaskID, out.RemoteContextID
		next.Data = json.RawMessage(`{"approved":true}`)
		out2, _, err := run(t, c, open, next)
		wantText := `answer: Paris [{"approved":true}] → ` + out.RemoteTaskID + " in conv-42"
		if err != nil || out2.Status != StatusComplete || out2.FinalText != wantText || out2.RemoteTaskID != out.RemoteTaskID || out2.Input != nil {
			t.Fatalf("%+v %v (want %q)", out2, err, wantText)
		}
		// The call named the task and its context.
		var params struct {
			Message struct {
				TaskID    string `json:"taskId"`
				ContextID string `json:"contextId"`
			} `json:"message"`
		}
		if err := json.Unmarshal(p.stats(t).LastParams["open"], &params); err != nil || params.Message.TaskID != out.RemoteTaskID ||
			params.Message.ContextID != "conv-42" {
			t.Fatalf("the answer's params: %+v %v", params, err)
		}
		assertRemoteState(t, p.base+"/open/rpc", want, out.RemoteTaskID, "completed")
	})

	t.Run("cancel", func(t *testing.T) {
		ids := make(chan string, 1)
		task := newTask("slow")
		task.OnRemoteTask = func(id string) { ids <- id }
		col := newCollector()
		type result struct {
			out Outcome
			err error
		}
		done := make(chan result, 1)
		go func() {
			// t.Context ends this run if the test fails before it does.
			out, err := c.Run(t.Context(), open, task, col.emit)
			done <- result{out, err}
		}()
		var id string
		select {
		case id = <-ids:
		case <-time.After(10 * time.Second):
			t.Fatal("no remote task id")
		}
		<-col.first // the agent is mid-reply
		if err := c.Cancel(ctx, open, id); err != nil {
			t.Fatal(err)
		}
		var r result
		select {
		case r = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("run did not end after cancel")
		}
		if r.err != nil || r.out.Status != StatusCancelled || r.out.FinalText != "partial " || r.out.RemoteTaskID != id {
			t.Fatalf("%+v %v", r.out, r.err)
		}
		if !slices.Contains(p.stats(t).Cancels, id) {
			t.Fatalf("agent saw no cancel for %s", id)
		}
		assertRemoteState(t, p.base+"/open/rpc", want, id, "canceled")
		// Cancelling again is harmless (SDK 1.3 returns the task, 0.3.14 -32002).
		if err := c.Cancel(ctx, open, id); err != nil && !errors.Is(err, ErrNotCancelable) {
			t.Fatalf("second cancel: %v", err)
		}
	})

	t.Run("cancel finished or unknown task", func(t *testing.T) {
		out, _, err := run(t, c, open, newTask("stream"))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Cancel(ctx, open, out.RemoteTaskID); !errors.Is(err, ErrNotCancelable) {
			t.Fatalf("cancel completed task: %v", err)
		}
		if err := c.Cancel(ctx, open, "no-such-task"); !errors.Is(err, ErrTaskNotFound) {
			t.Fatalf("cancel unknown task: %v", err)
		}
	})

	t.Run("idle timeout", func(t *testing.T) {
		// 3 s: the silent agent's first event (the task it opened) must
		// arrive within it even on a loaded machine.
		quick := New(Options{IdleTimeout: 3 * time.Second})
		task := newTask("silent")
		ids := make(chan string, 1)
		task.OnRemoteTask = func(id string) { ids <- id }
		start := time.Now()
		out, _, err := run(t, quick, open, task)
		if !errors.Is(err, ErrIdleTimeout) || out.Status != StatusError || out.Error == "" {
			t.Fatalf("%+v %v", out, err)
		}
		t.Logf("a silent agent's run ended after %v (idle timeout 3s)", time.Since(start).Round(10*time.Millisecond))
		// The silent agent is told to stop, not left running.
		var id string
		select {
		case id = <-ids:
		default:
			t.Fatal("the run timed out before the agent named its task")
		}
		if !slices.Contains(p.stats(t).Cancels, id) {
			t.Fatalf("agent saw no cancel for %s", id)
		}
	})

	t.Run("caller gives up", func(t *testing.T) {
		// The relay abandoning a reply (ctx done) must not leave the agent running.
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		task := newTask("slow")
		ids := make(chan string, 1)
		task.OnRemoteTask = func(id string) { ids <- id }
		col := newCollector()
		go func() {
			select {
			case <-col.first:
			case <-rctx.Done():
			}
			cancel()
		}()
		out, err := c.Run(rctx, open, task, col.emit)
		if !errors.Is(err, context.Canceled) || out.Status != StatusError || out.FinalText != "partial " {
			t.Fatalf("%+v %v", out, err)
		}
		id := <-ids
		if !slices.Contains(p.stats(t).Cancels, id) {
			t.Fatalf("agent saw no cancel for %s", id)
		}
		assertRemoteState(t, p.base+"/open/rpc", want, id, "canceled")
	})

	t.Run("auth", func(t *testing.T) {
		before := p.stats(t)
		bad := Agent{ID: "agent-secure-" + mode, Endpoint: p.base + "/secure", AuthHeader: "X-Api-Key: wrong"}
		out, _, err := run(t, c, bad, newTask("stream"))
		if !errors.Is(err, ErrUnauthorized) || out.Status != StatusError {
			t.Fatalf("%+v %v", out, err)
		}
		after := p.stats(t)
		if n := after.RPC["secure"] - before.RPC["secure"]; n != 1 {
			t.Fatalf("%d calls for one rejected run, want exactly 1", n)
		}
		if after.Unauthorized-before.Unauthorized != 1 {
			t.Fatalf("unauthorized %d→%d", before.Unauthorized, after.Unauthorized)
		}
		for _, h := range []string{"X-Api-Key: s3cret", "s3cret", "Bearer s3cret"} {
			good := bad
			good.AuthHeader = h
			out, _, err := run(t, c, good, newTask("stream"))
			if err != nil || out.FinalText != streamedText {
				t.Fatalf("header %q: %+v %v", h, out, err)
			}
		}
	})
}

func compact(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func assertRemoteState(t *testing.T, url string, d Dialect, id, want string) {
	t.Helper()
	method := "tasks/get"
	if d == V1 {
		method = "GetTask"
	}
	var task struct {
		Status struct{ State string } `json:"status"`
	}
	if err := json.Unmarshal(rawCall(t, url, d, method, map[string]any{"id": id}), &task); err != nil {
		t.Fatal(err)
	}
	if got := normState(task.Status.State); got != want {
		t.Fatalf("agent's task %s is %q, want %q", id, got, want)
	}
}

// A genuine v0.3 server whose card wrongly claims a v1.0 interface: the
// client must step down on -32601 and then remember v0.3.
func TestLadderStepsDownAndRemembers(t *testing.T) {
	t.Parallel()
	p := startPeer(t, "v03")
	c := New(Options{IdleTimeout: 10 * time.Second})
	a := Agent{ID: "agent-ladder", Endpoint: p.base + "/ladder"}
	for i := range 2 {
		col := newCollector()
		out, err := c.Run(context.Background(), a, newTask("stream"), col.emit)
		if err != nil || out.Status != StatusComplete || out.FinalText != streamedText || out.Dialect != V03 {
			t.Fatalf("run %d: %+v %v", i, out, err)
		}
	}
	got := p.stats(t).methodsFor("ladder")
	want := []string{"SendStreamingMessage@1.0", "message/stream@", "message/stream@"}
	if !slices.Equal(got, want) {
		t.Fatalf("calls %q, want %q", got, want)
	}
}

func TestNoEndpointIsAgentOffline(t *testing.T) {
	out, err := New(Options{}).Run(context.Background(), Agent{ID: "x"}, newTask("hi"), func(string, bool) error { return nil })
	if !errors.Is(err, ErrNoEndpoint) || out.Status != StatusError || !strings.HasPrefix(out.Error, "agent_offline") {
		t.Fatalf("%+v %v", out, err)
	}
}
