package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// No published package serves v0.1 (tasks/sendSubscribe): @a2a-js/sdk 1.3.0,
// 0.3.14 and 0.2.1 all answer -32601. So the v0.1 exchange is replayed from
// recorded wire bytes written per FACTS.md §1–§3 and spec v0.1.0 §7.2/§9.2,
// served by an httptest server on 127.0.0.1. The same is done for the
// "event: error" frame, which real SDK servers only send on internal faults.

const v01Stream = "id: sse-evt-100\r\nevent: message\r\n" +
	`data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","status":{"state":"working"},"final":false}}` + "\r\n\r\n" +
	": keep-alive comment\r\n\r\n" +
	"id: sse-evt-101\r\nevent: message\r\nretry: 1000\r\n" +
	// One JSON value split over two data lines: joined with \n it is still valid.
	`data: {"jsonrpc":"2.0","id":"%ID%",` + "\r\n" +
	`data: "result":{"id":"%TASK%","artifact":{"name":"echo","index":0,"append":false,"lastChunk":false,"parts":[{"type":"text","text":"Hello, "}]}}}` + "\r\n\r\n" +
	"id: sse-evt-102\r\nevent: message\r\n" +
	`data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","artifact":{"name":"echo","index":0,"append":true,"lastChunk":true,"parts":[{"type":"text","text":"wörld 🌍"}]}}}` + "\r\n\r\n" +
	"id: sse-evt-103\r\nevent: message\r\n" +
	// The last event has no trailing blank line.
	`data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","status":{"state":"completed"},"final":true}}`

type recordedAgent struct {
	mu      sync.Mutex
	methods []string
	params  []json.RawMessage
	headers []http.Header // of every request, the card's included
}

func (r *recordedAgent) record(method string, params json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.methods = append(r.methods, method)
	r.params = append(r.params, params)
}

func (r *recordedAgent) recordHeader(h http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.headers = append(r.headers, h.Clone())
}

func (r *recordedAgent) seenHeaders() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.headers)
}

func (r *recordedAgent) calls() ([]string, []json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.methods), slices.Clone(r.params)
}

// newV01Agent serves stream (%ID% and %TASK% filled in) to tasks/sendSubscribe;
// one starting with "{" is a JSON answer instead of a stream, and an empty one
// means the agent accepts the call and never answers. With later streams,
// the second call gets the first of them, and so on (the last repeats).
func newV01Agent(t *testing.T, stream string, later ...string) (*httptest.Server, *recordedAgent) {
	rec := &recordedAgent{}
	streams := append([]string{stream}, later...)
	calls := 0
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("GET /.well-known/agent.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"echo","url":"`+srv.URL+`/rpc","version":"0.0.1",
			"capabilities":{"streaming":true},"authentication":{"schemes":["bearer"]},
			"defaultInputModes":["text"],"defaultOutputModes":["text"],"skills":[]}`)
	})
	mux.HandleFunc("POST /rpc", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     string          `json:"id"`
			Method string          `json:"method"`
			Params json.RawMessage `json:"params"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		rec.record(req.Method, req.Params)
		var p struct{ ID string }
		json.Unmarshal(req.Params, &p)
		switch req.Method {
		case "tasks/sendSubscribe":
			rec.mu.Lock()
			stream := streams[min(calls, len(streams)-1)]
			calls++
			rec.mu.Unlock()
			if stream == "" {
				// Accepts the call and never answers.
				<-r.Context().Done()
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			if strings.HasPrefix(stream, "{") {
				w.Header().Set("Content-Type", "application/json") // an answer instead of a stream
			}
			out := strings.NewReplacer("%ID%", req.ID, "%TASK%", p.ID).Replace(stream)
			io.WriteString(w, out)
		case "tasks/cancel":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":"`+req.ID+`","result":{"id":"`+p.ID+`","status":{"state":"canceled"}}}`)
		default:
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"jsonrpc":"2.0","id":"`+req.ID+`","error":{"code":-32601,"message":"Method not found"}}`)
		}
	})
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.recordHeader(r.Header)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

func TestV01Recorded(t *testing.T) {
	srv, rec := newV01Agent(t, v01Stream)
	c := New(Options{IdleTimeout: 5 * time.Second})
	a := Agent{ID: "agent-v01", Endpoint: srv.URL, AuthHeader: "tok"}
	task := newTask("hello")
	col := newCollector()
	out, err := c.Run(context.Background(), a, task, col.emit)
	if err != nil {
		t.Fatal(err)
	}
	text, chunks := col.get()
	if out.Status != StatusComplete || out.Dialect != V01 || out.FinalText != "Hello, wörld 🌍" || text != out.FinalText {
		t.Fatalf("%+v text %q", out, text)
	}
	if len(chunks) != 2 {
		t.Fatalf("chunks %q", chunks)
	}
	// In v0.1 the client names the task.
	if out.RemoteTaskID != task.TaskID {
		t.Fatalf("remote task %q, want %q", out.RemoteTaskID, task.TaskID)
	}
	methods, params := rec.calls()
	if !slices.Equal(methods, []string{"message/stream", "tasks/sendSubscribe"}) {
		t.Fatalf("methods %q", methods)
	}
	var p struct {
		ID        string `json:"id"`
		SessionID string `json:"sessionId"`
		Message   struct {
			Role  string `json:"role"`
			Parts []struct{ Type, Text string }
		} `json:"message"`
	}
	if err := json.Unmarshal(params[1], &p); err != nil {
		t.Fatal(err)
	}
	if p.ID != task.TaskID || p.SessionID != task.ConversationID || p.Message.Role != "user" ||
		len(p.Message.Parts) != 1 || p.Message.Parts[0].Type != "text" || p.Message.Parts[0].Text != "hello" {
		t.Fatalf("sendSubscribe params %s", params[1])
	}

	// The remembered dialect goes straight to v0.1, and cancel speaks it too.
	if _, err := c.Run(context.Background(), a, newTask("again"), col.emit); err != nil {
		t.Fatal(err)
	}
	if err := c.Cancel(context.Background(), a, task.TaskID); err != nil {
		t.Fatal(err)
	}
	methods, params = rec.calls()
	if !slices.Equal(methods[2:], []string{"tasks/sendSubscribe", "tasks/cancel"}) {
		t.Fatalf("methods %q", methods)
	}
	if !strings.Contains(string(params[3]), task.TaskID) {
		t.Fatalf("cancel params %s", params[3])
	}
}

// A v0.1 error arrives as an ordinary data envelope with error set.
func TestV01ErrorEnvelope(t *testing.T) {
	stream := `data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","artifact":{"index":0,"parts":[{"type":"text","text":"so far"}]}}}` + "\n\n" +
		`data: {"jsonrpc":"2.0","id":"%ID%","error":{"code":-32603,"message":"model crashed"}}` + "\n\n"
	srv, _ := newV01Agent(t, stream)
	out, err := New(Options{}).Run(context.Background(), Agent{ID: "e", Endpoint: srv.URL}, newTask("x"), newCollector().emit)
	if err != nil || out.Status != StatusError || out.FinalText != "so far" || !strings.Contains(out.Error, "model crashed") {
		t.Fatalf("%+v %v", out, err)
	}
}

// The SDK frames a fatal error after the stream started as "event: error".
func TestEventErrorFrame(t *testing.T) {
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("GET /.well-known/agent-card.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"name":"x","protocolVersion":"0.3.0","url":"`+srv.URL+`/rpc","preferredTransport":"JSONRPC","capabilities":{"streaming":true}}`)
	})
	mux.HandleFunc("POST /rpc", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, `data: {"jsonrpc":"2.0","id":"1","result":{"kind":"task","id":"t1","contextId":"c","status":{"state":"submitted"}}}`+"\n\n"+
			`data: {"jsonrpc":"2.0","id":"1","result":{"kind":"artifact-update","taskId":"t1","contextId":"c","artifact":{"artifactId":"a","parts":[{"kind":"text","text":"abc"}]}}}`+"\n\n"+
			"event: error\n"+
			`data: {"jsonrpc":"2.0","id":"e","error":{"code":-32004,"message":"Stream ordering violation: late event"}}`+"\n\n")
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	out, err := New(Options{}).Run(context.Background(), Agent{ID: "x", Endpoint: srv.URL}, newTask("x"), newCollector().emit)
	if err != nil || out.Status != StatusError || out.FinalText != "abc" || out.RemoteTaskID != "t1" ||
		!strings.Contains(out.Error, "Stream ordering violation") || out.Dialect != V03 {
		t.Fatalf("%+v %v", out, err)
	}
}

// A v0.1 agent works on the task id the client chose, so a run given up on
// before any answer (the relay's silence timeout ends its context) can still
// cancel it; v1.0 and v0.3 agents have named no task by then.
func TestV01CancelBeforeAnyAnswer(t *testing.T) {
	srv, rec := newV01Agent(t, "")
	c := New(Options{})
	a := Agent{ID: "agent-v01-mute", Endpoint: srv.URL}
	task := newTask("mute")
	// Long enough for both calls before it ends, on a loaded machine too.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	out, err := c.Run(ctx, a, task, newCollector().emit)
	if !errors.Is(err, context.DeadlineExceeded) || out.Status != StatusError {
		t.Fatalf("%+v %v", out, err)
	}
	methods, params := rec.calls()
	if !slices.Equal(methods, []string{"message/stream", "tasks/sendSubscribe", "tasks/cancel"}) {
		t.Fatalf("methods %q", methods)
	}
	var p struct{ ID string }
	if err := json.Unmarshal(params[2], &p); err != nil || p.ID != task.TaskID {
		t.Fatalf("cancel params %s, want id %s", params[2], task.TaskID)
	}
}

// A v0.1 agent refusing tasks/sendSubscribe with a JSON-RPC error (HTTP 200):
// the user reads the agent's own words, cleaned and cut.
func TestV01RefusalBeforeTheStream(t *testing.T) {
	srv, rec := newV01Agent(t, `{"jsonrpc":"2.0","id":"%ID%","error":{"code":-32000,"message":`+jsonString(rejection)+`}}`)
	out, err := New(Options{}).Run(context.Background(), Agent{ID: "v01-refuses", Endpoint: srv.URL}, newTask("x"), newCollector().emit)
	var re *RPCError
	if !errors.As(err, &re) || re.Code != -32000 || out.Status != StatusError || out.Dialect != V01 || out.Error != wantRejection {
		t.Fatalf("%+v %v", out, err)
	}
	if methods, _ := rec.calls(); !slices.Equal(methods, []string{"message/stream", "tasks/sendSubscribe"}) {
		t.Fatalf("methods %q", methods)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// A v0.1 task that ends input-required (its question with a data part of
// options) is a distinct outcome, and the answer goes into the same task:
// tasks/sendSubscribe with the same id and sessionId, the answer's text and
// data parts.
func TestV01InputRequiredThenAnswer(t *testing.T) {
	ask := `data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","sessionId":"conv-42","status":{"state":"working"},"final":false}}` + "\n\n" +
		`data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","status":{"state":"input-required","message":{"role":"agent","parts":[{"type":"text","text":"Welche Stadt?"},{"type":"data","data":{"options":["Paris","東京"]}}]}},"final":true}}` + "\n\n"
	answer := `data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","artifact":{"index":0,"parts":[{"type":"text","text":"Sonnig in Paris"}]}}}` + "\n\n" +
		`data: {"jsonrpc":"2.0","id":"%ID%","result":{"id":"%TASK%","status":{"state":"completed"},"final":true}}` + "\n\n"
	srv, rec := newV01Agent(t, ask, answer)
	c := New(Options{IdleTimeout: 5 * time.Second})
	agent := Agent{ID: "v01-ask", Endpoint: srv.URL}
	task := Task{TaskID: "task-ask", ConversationID: "conv-42", MessageID: "msg-1", Text: "Wetter?"}
	out, err := c.Run(context.Background(), agent, task, func(string, bool) error { return nil })
	if err != nil || out.Status != StatusInputRequired || out.RemoteTaskID != "task-ask" || out.RemoteContextID != "conv-42" ||
		out.Input == nil || out.Input.Prompt != "Welche Stadt?" || len(out.Input.Data) != 1 || string(out.Input.Data[0]) != `{"options":["Paris","東京"]}` {
		t.Fatalf("outcome %+v %+v %v", out, out.Input, err)
	}
	reply := Task{TaskID: "task-answer", ConversationID: "conv-42", MessageID: "msg-2", Text: "Paris",
		RemoteTaskID: out.RemoteTaskID, RemoteContextID: out.RemoteContextID, Data: json.RawMessage(`{"approved":true}`)}
	out2, err := c.Run(context.Background(), agent, reply, func(string, bool) error { return nil })
	if err != nil || out2.Status != StatusComplete || out2.FinalText != "Sonnig in Paris" || out2.RemoteTaskID != "task-ask" || out2.Input != nil {
		t.Fatalf("answer outcome %+v %v", out2, err)
	}
	methods, params := rec.calls()
	last := params[len(params)-1]
	if methods[len(methods)-1] != "tasks/sendSubscribe" {
		t.Fatalf("calls %q", methods)
	}
	var p struct {
		ID        string `json:"id"`
		SessionID string `json:"sessionId"`
		Message   struct {
			Parts []map[string]any `json:"parts"`
		} `json:"message"`
	}
	if err := json.Unmarshal(last, &p); err != nil || p.ID != "task-ask" || p.SessionID != "conv-42" || len(p.Message.Parts) != 2 ||
		p.Message.Parts[0]["text"] != "Paris" || p.Message.Parts[1]["type"] != "data" ||
		p.Message.Parts[1]["data"].(map[string]any)["approved"] != true {
		t.Fatalf("answer params %s (%v)", last, err)
	}
}

// auth-required is no question for the person: the run ends in error, with
// a reason the agent's owner can act on.
func TestAuthRequiredIsAnError(t *testing.T) {
	var a assembler
	a.apply(update{taskID: "t1", state: "auth-required", statusText: "log in first", hasStatus: true})
	if o := a.outcome(V1); o.Status != StatusError || o.Input != nil || !strings.Contains(o.Error, "auth-required") {
		t.Fatalf("outcome %+v", o)
	}
}
