package agentsdk

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// stubRelay stands in for relay/ in this package's unit tests: it speaks the
// agent socket's real wire format (frames decoded with protocol.DecodeAgent,
// written with protocol.Encode) so the SDK's side of the protocol can be
// driven exactly, including losses the real relay cannot be made to produce
// on cue. The interop tests in relay/interop run the SDK against the real relay.
type stubRelay struct {
	t     *testing.T
	srv   *httptest.Server
	token string
	info  protocol.AgentInfo
	conns chan *stubConn
	dials atomic.Int32
}

type stubConn struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan protocol.Frame
	closed chan struct{} // closed when the SDK's socket ended (close frame or EOF)
	close  *websocket.CloseError
}

func newStubRelay(t *testing.T, token string) *stubRelay {
	r := &stubRelay{t: t, token: token, conns: make(chan *stubConn, 16),
		info: protocol.AgentInfo{ID: "ag_echo", Name: "Echo Bot", Handle: "echo-bot"}}
	up := websocket.Upgrader{Subprotocols: []string{protocol.Version}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != protocol.AgentPath {
			http.NotFound(w, req)
			return
		}
		r.dials.Add(1)
		ws, err := up.Upgrade(w, req, nil)
		if err != nil {
			return
		}
		_, data, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return
		}
		f, err := protocol.DecodeAgent(data)
		auth, ok := f.(*protocol.Auth)
		if err != nil || !ok || auth.Token != r.token {
			send(t, ws, &protocol.AuthError{Code: protocol.CodeUnauthorized, Message: "invalid agent token"})
			closeWith(ws, protocol.CloseUnauthorized)
			return
		}
		send(t, ws, &protocol.AuthOK{Agent: r.info, Protocol: protocol.Version})
		c := &stubConn{t: t, ws: ws, frames: make(chan protocol.Frame, 4096), closed: make(chan struct{})}
		r.conns <- c
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				errors.As(err, &c.close)
				close(c.closed)
				ws.Close()
				return
			}
			f, err := protocol.DecodeAgent(data)
			if err != nil {
				t.Errorf("stub relay: SDK sent a frame the relay refuses: %v: %s", err, data)
				continue
			}
			c.frames <- f
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *stubRelay) url() string {
	return "ws" + strings.TrimPrefix(r.srv.URL, "http") + protocol.AgentPath
}

// next waits for the SDK's next authenticated socket.
func (r *stubRelay) next() *stubConn {
	r.t.Helper()
	select {
	case c := <-r.conns:
		return c
	case <-time.After(waitFor):
		r.t.Fatalf("stub relay: no connection within %s", waitFor)
		return nil
	}
}

func send(t *testing.T, ws *websocket.Conn, f protocol.Frame) {
	data, err := protocol.Encode(f)
	if err != nil {
		t.Errorf("encode: %v", err)
		return
	}
	if err := ws.WriteMessage(websocket.TextMessage, data); err != nil {
		t.Logf("stub relay: write: %v", err)
	}
}

func closeWith(ws *websocket.Conn, code int) {
	msg := websocket.FormatCloseMessage(code, protocol.CloseReason(code))
	_ = ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
	time.Sleep(20 * time.Millisecond)
	_ = ws.Close()
}

func (c *stubConn) send(f protocol.Frame) { send(c.t, c.ws, f) }

// recv waits for the next frame from the SDK.
func (c *stubConn) recv() protocol.Frame {
	c.t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-time.After(waitFor):
		c.t.Fatalf("stub relay: no frame from the SDK within %s", waitFor)
		return nil
	}
}

// settled asserts that the SDK sends nothing more for the tasks it has
// finished. A handler's last frames are queued before its task is forgotten,
// so once no task is left a marker frame queued now goes out behind all of
// them, and it must be the next frame the relay reads.
func (c *stubConn) settled(a *Agent) {
	c.t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		a.mu.Lock()
		n := len(a.tasks)
		a.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%d task handlers still running after %s", n, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
	marker := item{task: &task{id: "settled-marker"}, kind: kindError, content: "marker"}
	select {
	case a.out <- marker:
	case <-time.After(waitFor):
		c.t.Fatalf("the SDK's queue did not take the marker within %s", waitFor)
	}
	f := c.recv()
	if e, ok := f.(*protocol.AgentError); !ok || e.TaskID != "settled-marker" {
		c.t.Fatalf("stub relay: unexpected frame %T %+v before the marker", f, f)
	}
}

// waitFor bounds every wait in this package's tests; generous, so that a
// loaded machine running -race still keeps it.
const waitFor = 10 * time.Second

// within returns the next value from ch, failing the test after waitFor.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitFor):
		t.Fatalf("%s: nothing within %s", what, waitFor)
		var zero T
		return zero
	}
}

// drop cuts the TCP connection without a close frame, as a network loss does.
func (c *stubConn) drop() { _ = c.ws.UnderlyingConn().Close() }

func newTask(id, content string) *protocol.Task {
	return &protocol.Task{TaskID: id, ConversationID: "c_01", MessageID: "r_" + id,
		Message: protocol.TaskMessage{ID: "msg_" + id, Seq: 1, Content: content, Sender: protocol.Sender{ID: "u_ada", Name: "Ada"}},
		History: []protocol.HistoryEntry{}}
}
