package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// untilInput reads a reply's chunks into a until its input_request arrives,
// and returns that frame.
func (p *peer) untilInput(reply string, a *assembler) frame {
	p.t.Helper()
	for {
		f := p.expectWhere("", func(f frame) bool { return f.str("messageId") == reply })
		switch f.str("type") {
		case "stream_chunk":
			if err := a.apply(f); err != nil {
				p.t.Fatal(err)
			}
		case "input_request":
			return f
		case "stream_end":
			p.t.Fatalf("the reply ended before its question: %v", f)
		}
	}
}

// answerCall is what the A2A peer last received: the answer's message.
type answerCall struct {
	Message struct {
		MessageID, TaskID, ContextID string
		Parts                        []json.RawMessage
	}
}

// The peer's answer text (server.mjs): the answer, its data parts, and the
// task and context it reached.
func peerAnswer(answer, task, context string) string {
	return "answer: " + answer + " [] → " + task + " in " + context
}

// Issue 13 item 2 over A2A, in each SDK mode (v1.0; v0.3 through SDK 1.3's
// compat layer; SDK 0.3.14): a task that ends input-required makes the reply
// wait with an input request (its status message's text as the prompt, the
// options of its data part), shown to every socket of the members on both
// instances and in sync_result; the member answers over a socket on the
// instance that did not call the agent; that instance sends the answer into
// the same A2A task and context, and the agent's next text streams into the
// same reply, which ends complete with both.
func TestA2AQuestionIsAnInputRequestAnsweredIntoTheSameTask(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	for _, mode := range []string{"v1", "compat", "v03"} {
		t.Run(mode, func(t *testing.T) {
			base, _, conv, ada := a2aConversationOf(t, c, mode, "Asker "+mode)
			asker := dialClient(t, a, ada)
			other := dialClient(t, b, ada) // the same member, on the instance that does not call the agent

			asker.sendMessage(conv, "ask please", mode+"-ask")
			reply := asker.expect("stream_start").str("messageId")
			got := &assembler{}
			q := asker.untilInput(reply, got)
			req := q.str("requestId")
			if q.str("conversationId") != conv || q.str("kind") != "question" || q.str("prompt") != "Which city?" ||
				q.str("expiresAt") == "" || !slices.Equal(strs(q["options"]), []string{"Paris", "Tōkyō"}) {
				t.Fatalf("input_request = %v", q)
			}
			if string(got.text) != "Which city?" {
				t.Fatalf("text before the question %q", got.text)
			}
			seen := other.expectInputRequest(req)
			if seen.str("messageId") != reply {
				t.Fatalf("input_request on the other instance = %v", seen)
			}
			if st, _ := replyStatus(t, c.db, reply); st != "waiting_input" {
				t.Fatalf("reply status %q, want waiting_input", st)
			}
			other.send(map[string]any{"type": "sync"})
			res := other.expect("sync_result")
			open, _ := res["inputRequests"].([]any)
			if len(open) != 1 || frame(open[0].(map[string]any)).str("requestId") != req {
				t.Fatalf("sync_result.inputRequests = %v", res["inputRequests"])
			}
			// An answer outside the options is refused, as for a socket agent.
			other.send(map[string]any{"type": "input_response", "requestId": req, "answer": "Rom"})
			if e := other.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "answer" {
				t.Fatalf("an answer outside the options got %v", e)
			}

			other.send(map[string]any{"type": "input_response", "requestId": req, "answer": "Tōkyō"})
			if d := asker.expectResolved(req); d.str("state") != "answered" || d.str("answer") != "Tōkyō" {
				t.Fatalf("input_resolved = %v", d)
			}
			end := asker.collect(reply, got).ended
			var call answerCall
			if err := json.Unmarshal(peerStats(t, base).LastParams["open"], &call); err != nil {
				t.Fatal(err)
			}
			want := "Which city?\n\n" + peerAnswer("Tōkyō", call.Message.TaskID, conv)
			if end.str("status") != "complete" || end.str("content") != want || string(got.text) != want {
				t.Fatalf("end %v, assembled %q, want %q", end, got.text, want)
			}
			if st, content := replyStatus(t, c.db, reply); st != "complete" || content != want {
				t.Fatalf("stored %s %q", st, content)
			}
			// Into the same task and context, with a fresh message id.
			if call.Message.TaskID == "" || call.Message.ContextID != conv || call.Message.MessageID != req {
				t.Fatalf("the answer reached the agent as %+v", call.Message)
			}
			// The other socket read past the question's chunk already.
			if o := other.collect(reply, &assembler{text: []byte("Which city?")}); o.ended.str("content") != want || string(o.text) != want {
				t.Fatalf("the other socket assembled %q, end %v", o.text, o.ended)
			}
			if n := peerStats(t, base).RPC["open"]; n != 2 {
				t.Fatalf("the agent saw %d calls, want 2 (the question's and the answer's)", n)
			}
			// The conversation goes on: the next message is a new task.
			asker.sendMessage(conv, "stream please", mode+"-next")
			next := asker.expect("stream_start").str("messageId")
			if e := asker.collect(next, nil).ended; e.str("status") != "complete" {
				t.Fatalf("the next reply ended %v", e)
			}
		})
	}
}

// A question nobody answers expires: members learn it, the A2A task is
// cancelled with the dialect's cancel call, and the reply ends complete with
// its text so far (the question).
func TestA2AQuestionExpires(t *testing.T) {
	c := newCluster(t, map[string]string{"INPUT_REQUEST_TTL": "1s"})
	r := c.start()
	base, _, conv, client := a2aConversation(t, c, r, "v03", "Asker")
	client.sendMessage(conv, "ask please", "ex-1")
	reply := client.expect("stream_start").str("messageId")
	got := &assembler{}
	req := client.untilInput(reply, got).str("requestId")
	if d := client.expectResolved(req); d.str("state") != "expired" {
		t.Fatalf("input_resolved = %v", d)
	}
	end := client.collect(reply, got).ended
	if end.str("status") != "complete" || end.str("content") != "Which city?" {
		t.Fatalf("end %v", end)
	}
	waitFor(t, wait, "the expired question's task to be cancelled", func() bool {
		for _, m := range peerMethods(t, base) {
			if m == "tasks/cancel" {
				return true
			}
		}
		return false
	})
	client.send(map[string]any{"type": "input_response", "requestId": req, "answer": "Paris"})
	if e := client.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("an answer after expiry got %v", e)
	}
	if n := peerStats(t, base).RPC["open"]; n != 2 { // the question's call and the cancel
		t.Fatalf("the agent saw %d calls, want 2", n)
	}
}

// The question survives a relay restart, and an answer given over REST (the
// functions' path, no relay socket involved) reaches the same A2A task from
// the relay instance that started afterwards.
func TestA2AQuestionAnsweredOverRESTAfterARestart(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	base, _, conv, ada := a2aConversationOf(t, c, "v1", "Asker")
	client := dialClient(t, r, ada)
	client.sendMessage(conv, "ask please", "rs-1")
	reply := client.expect("stream_start").str("messageId")
	req := client.untilInput(reply, &assembler{}).str("requestId")

	r.kill(t)
	client.waitClosed()
	r2 := c.start()
	back := dialClient(t, r2, ada)
	back.send(map[string]any{"type": "sync"})
	res := back.expect("sync_result")
	open, _ := res["inputRequests"].([]any)
	if len(open) != 1 || frame(open[0].(map[string]any)).str("requestId") != req {
		t.Fatalf("sync_result.inputRequests after the restart = %v", res["inputRequests"])
	}
	streams, _ := res["activeStreams"].([]any)
	if len(streams) != 1 || frame(streams[0].(map[string]any)).str("content") != "Which city?" {
		t.Fatalf("sync_result.activeStreams after the restart = %v", res["activeStreams"])
	}
	got := &assembler{text: []byte("Which city?")}

	answer := "Paris"
	if _, err := answerer(t, c).Answer(t.Context(), ada.ID, req, &answer, nil); err != nil {
		t.Fatal(err)
	}
	end := back.collect(reply, got).ended
	var call answerCall
	if err := json.Unmarshal(peerStats(t, base).LastParams["open"], &call); err != nil {
		t.Fatal(err)
	}
	want := "Which city?\n\n" + peerAnswer("Paris", call.Message.TaskID, conv)
	if end.str("status") != "complete" || end.str("content") != want || string(got.text) != want {
		t.Fatalf("end %v, assembled %q, want %q", end, got.text, want)
	}
	if call.Message.TaskID == "" || call.Message.ContextID != conv || call.Message.MessageID != req {
		t.Fatalf("the answer reached the agent as %+v", call.Message)
	}
	if st, content := replyStatus(t, c.db, reply); st != "complete" || content != want {
		t.Fatalf("stored %s %q", st, content)
	}
}

func strs(v any) []string {
	items, _ := v.([]any)
	out := []string{}
	for _, i := range items {
		s, _ := i.(string)
		out = append(out, s)
	}
	return out
}

func peerMethods(t *testing.T, base string) []string {
	t.Helper()
	var out []string
	for _, m := range peerStats(t, base).Methods {
		if m.Prefix == "open" {
			out = append(out, m.Method)
		}
	}
	return out
}

// v01Agent is a v0.1 agent (tasks/sendSubscribe; no published SDK serves
// it, so it is written here per shared/reference/a2a/FACTS.md, as relay/a2a's
// recorded tests do): a new task asks "Welche Stadt?" with options and ends
// input-required; a message sent to a task it knows is the answer, echoed
// with the task id and session it reached.
type v01Agent struct {
	mu    sync.Mutex
	tasks map[string]bool
	calls []v01Call
}

type v01Call struct {
	Method string
	Params struct {
		ID, SessionID string
		Message       struct{ Parts []struct{ Type, Text string } }
	}
}

func (v *v01Agent) seen() []v01Call {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.calls)
}

func newV01Agent(t *testing.T) (*httptest.Server, *v01Agent) {
	v := &v01Agent{tasks: map[string]bool{}}
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/agent.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"v01","url":"`+srv.URL+`/rpc","version":"0.0.1","capabilities":{"streaming":true},
			"defaultInputModes":["text"],"defaultOutputModes":["text"],"skills":[]}`)
	})
	mux.HandleFunc("POST /rpc", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     string          `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		var call v01Call
		if json.NewDecoder(r.Body).Decode(&req) != nil || json.Unmarshal(req.Params, &call.Params) != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		call.Method = req.Method
		v.mu.Lock()
		v.calls = append(v.calls, call)
		known := v.tasks[call.Params.ID]
		v.tasks[call.Params.ID] = true
		v.mu.Unlock()
		p := call.Params
		event := func(result string) string {
			return `data: {"jsonrpc":"2.0","id":"` + req.ID + `","result":` + result + "}\n\n"
		}
		switch {
		case req.Method == "tasks/sendSubscribe" && !known:
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, event(`{"id":"`+p.ID+`","sessionId":"`+p.SessionID+`","status":{"state":"working"},"final":false}`)+
				event(`{"id":"`+p.ID+`","status":{"state":"input-required","message":{"role":"agent","parts":[{"type":"text","text":"Welche Stadt?"},{"type":"data","data":{"options":["Paris","東京"]}}]}},"final":true}`))
		case req.Method == "tasks/sendSubscribe":
			text := ""
			for _, part := range p.Message.Parts {
				text += part.Text
			}
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, event(`{"id":"`+p.ID+`","artifact":{"index":0,"parts":[{"type":"text","text":"Sonnig in `+text+` (`+p.ID+` in `+p.SessionID+`)"}]}}`)+
				event(`{"id":"`+p.ID+`","status":{"state":"completed"},"final":true}`))
		case req.Method == "tasks/cancel":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":"`+req.ID+`","result":{"id":"`+p.ID+`","status":{"state":"canceled"}}}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":"`+req.ID+`","error":{"code":-32601,"message":"Method not found"}}`)
		}
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, v
}

// The v0.1 dialect: the question of a tasks/sendSubscribe task is an input
// request; the answer, given on the other instance (which has never spoken
// to the agent), goes to the same task id and session in one call, in the
// dialect the task was started in (no card fetch, no step-down), and the
// continuation streams into the same reply.
func TestA2AQuestionInV01(t *testing.T) {
	srv, agent := newV01Agent(t)
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	agentID, _ := newAgent(t, c.db, ada, "Old Timer")
	if _, err := c.db.Pool.Exec(t.Context(), `update agents set a2a_endpoint = $2 where id = $1`, agentID, srv.URL); err != nil {
		t.Fatal(err)
	}
	conv := newConversation(t, c.db, "direct", []testenv.TestUser{ada}, agentID)
	asker, other := dialClient(t, a, ada), dialClient(t, b, ada)

	asker.sendMessage(conv, "Wetter?", "v01-1")
	reply := asker.expect("stream_start").str("messageId")
	got := &assembler{}
	q := asker.untilInput(reply, got)
	req := q.str("requestId")
	if q.str("prompt") != "Welche Stadt?" || !slices.Equal(strs(q["options"]), []string{"Paris", "東京"}) || string(got.text) != "Welche Stadt?" {
		t.Fatalf("input_request = %v, text %q", q, got.text)
	}
	other.expectInputRequest(req)
	before := len(agent.seen())

	other.send(map[string]any{"type": "input_response", "requestId": req, "answer": "東京"})
	end := asker.collect(reply, got).ended
	want := "Welche Stadt?\n\nSonnig in 東京 (" + reply + " in " + conv + ")"
	if end.str("status") != "complete" || end.str("content") != want || string(got.text) != want {
		t.Fatalf("end %v, assembled %q, want %q", end, got.text, want)
	}
	calls := agent.seen()[before:]
	if len(calls) != 1 || calls[0].Method != "tasks/sendSubscribe" || calls[0].Params.ID != reply || calls[0].Params.SessionID != conv {
		t.Fatalf("the answer reached the agent as %+v", calls)
	}
	if st, content := replyStatus(t, c.db, reply); st != "complete" || content != want {
		t.Fatalf("stored %s %q", st, content)
	}
}

// A member who cancels a reply that waits for an A2A task's answer ends it
// cancelled with its text, closes the request, and the task is cancelled
// with the dialect's cancel call (it would otherwise wait for ever).
func TestA2AQuestionCancelledCancelsTheTask(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	base, _, conv, client := a2aConversation(t, c, r, "v1", "Asker")
	client.sendMessage(conv, "ask please", "cx-1")
	reply := client.expect("stream_start").str("messageId")
	req := client.untilInput(reply, &assembler{}).str("requestId")
	client.send(map[string]any{"type": "cancel_stream", "messageId": reply})
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "cancelled" || end.str("content") != "Which city?" {
		t.Fatalf("stream_end = %v", end)
	}
	waitFor(t, wait, "the waiting task to be cancelled", func() bool {
		return slices.Contains(peerMethods(t, base), "CancelTask")
	})
	client.send(map[string]any{"type": "input_response", "requestId": req, "answer": "Paris"})
	if e := client.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("an answer after cancel got %v", e)
	}
}

// A conversation deleted while its A2A reply waits for an answer: the
// remote task, which nothing would ever answer now, is cancelled (the
// request's row keeps where it lives as it goes, migration 00031, and a
// relay's sweeper cancels it once).
func TestA2AQuestionOfADeletedConversationCancelsTheTask(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	base, _, conv, u := a2aConversationOf(t, c, "v1", "Asker")
	client := dialClient(t, r, u)
	client.sendMessage(conv, "ask please", "dx-1")
	reply := client.expect("stream_start").str("messageId")
	client.untilInput(reply, &assembler{})
	if slices.Contains(peerMethods(t, base), "CancelTask") {
		t.Fatal("cancelled before the deletion")
	}
	// As store.DeleteConversation does for its owner (the seeded member is no owner).
	if _, err := c.db.Pool.Exec(t.Context(), `delete from conversations where id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	waitFor(t, wait, "the waiting task to be cancelled", func() bool {
		return slices.Contains(peerMethods(t, base), "CancelTask")
	})
	var left int
	if err := c.db.Pool.QueryRow(t.Context(), `select count(*) from a2a_abandoned_tasks`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d abandoned tasks left (%v)", left, err)
	}
	time.Sleep(3 * time.Second) // another sweep: cancelled once
	n := 0
	for _, m := range peerMethods(t, base) {
		if m == "CancelTask" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the task was cancelled %d times", n)
	}
}
