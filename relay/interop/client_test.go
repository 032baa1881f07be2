package interop

import (
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/gorilla/websocket"
)

// goClient is a client socket for the tests, speaking the wire format with
// relay/protocol's types.
type goClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialClient(t *testing.T, url, session string) *goClient {
	t.Helper()
	h := http.Header{"Authorization": {"Bearer " + session}}
	ws, resp, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		if resp != nil {
			t.Fatalf("dial %s: %v (HTTP %d)", url, err, resp.StatusCode)
		}
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &goClient{t: t, ws: ws}
}

func (c *goClient) send(f protocol.Frame) {
	c.t.Helper()
	b, err := protocol.Encode(f)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *goClient) recv(timeout time.Duration) protocol.Frame {
	c.t.Helper()
	for {
		_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("client read: %v", err)
		}
		f, err := protocol.DecodeFromRelay(data)
		if err != nil {
			continue // a frame newer than this test
		}
		return f
	}
}

// replyResult is one reply as the client saw it.
type replyResult struct {
	Ack       *protocol.MessageAck
	MessageID string
	Assembled string
	End       *protocol.StreamEnd
	Chunks    int
	// Statuses are the reply's stream_status frames, and Chunks how many
	// stream_chunks had come before each.
	Statuses      []*protocol.StreamStatus
	StatusesAfter []int
}

// ask sends content and follows its reply to stream_end, assembling chunks
// by offset (PROTOCOL.md section 11).
func (c *goClient) ask(convID, content string, timeout time.Duration) replyResult {
	c.t.Helper()
	cmid := "m-" + testenv.RandomID(8)
	c.send(&protocol.SendMessage{ConversationID: convID, Content: content, ClientMessageID: cmid})
	var r replyResult
	var have []byte
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		switch f := c.recv(time.Until(deadline)).(type) {
		case *protocol.MessageAck:
			if f.ClientMessageID == cmid {
				r.Ack = f
			}
		case *protocol.StreamStart:
			if r.Ack != nil && f.ReplyToID == r.Ack.Message.ID {
				r.MessageID = f.MessageID
			}
		case *protocol.StreamStatus:
			if f.MessageID == r.MessageID {
				r.Statuses = append(r.Statuses, f)
				r.StatusesAfter = append(r.StatusesAfter, r.Chunks)
			}
		case *protocol.StreamChunk:
			if f.MessageID != r.MessageID {
				continue
			}
			r.Chunks++
			n := int64(len(f.Delta))
			switch {
			case f.Offset+n <= int64(len(have)):
			case f.Offset <= int64(len(have)):
				have = append(have, f.Delta[int64(len(have))-f.Offset:]...)
			default:
				c.t.Fatalf("gap: chunk at %d, have %d", f.Offset, len(have))
			}
		case *protocol.StreamEnd:
			if r.MessageID == "" && r.Ack != nil {
				r.MessageID = f.MessageID // ended without a start (e.g. agent_offline)
			}
			if f.MessageID == r.MessageID {
				r.End = f
				r.Assembled = string(have)
				return r
			}
		case *protocol.ErrorFrame:
			c.t.Fatalf("relay error: %+v", f)
		}
	}
	c.t.Fatalf("no stream_end for %q within %v", content, timeout)
	return r
}

// cutProxy forwards TCP connections to a target and can cut them all at
// once, as a network loss does, without either end closing politely.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) Addr() string { return p.ln.Addr().String() }

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

// cut closes every connection made so far.
func (p *cutProxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func wsURL(addr, path string) string { return fmt.Sprintf("ws://%s%s", addr, path) }
