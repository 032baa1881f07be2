// Package conn is one WebSocket as the relay drives it: a reader (the caller's
// goroutine) and a writer goroutine draining a bounded queue, read limit, idle
// deadline, protocol pings, and closing with the codes of relay/protocol. Any
// goroutine may Send; a full queue closes the socket (4008) instead of blocking
// the sender, so one slow peer never slows anyone else.
package conn

import (
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// Options tune one socket; zero values take relay/protocol's defaults.
type Options struct {
	ReadLimit    int64         // bytes per frame; over it → close 1009
	IdleTimeout  time.Duration // nothing received (pongs included) for this long → close
	PingInterval time.Duration // protocol pings keep the peer's pongs coming
	QueueSize    int           // outgoing frames; a full queue → close 4008
	WriteTimeout time.Duration // one write may take this long
}

func (o *Options) defaults() {
	if o.ReadLimit == 0 {
		o.ReadLimit = protocol.MaxClientFrameBytes
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = protocol.IdleTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = protocol.PingInterval
	}
	if o.QueueSize == 0 {
		o.QueueSize = 512
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
}

var lastID atomic.Uint64

// Conn is one socket.
type Conn struct {
	ws   *websocket.Conn
	opts Options
	id   uint64

	queue chan []byte

	closeOnce sync.Once
	closing   chan struct{} // closed when Close was called
	closeCode int
	closeText string

	readerDone chan struct{}
	done       chan struct{} // closed when both goroutines have ended
}

// New wraps an upgraded socket. Call Run to start it.
func New(ws *websocket.Conn, opts Options) *Conn {
	opts.defaults()
	return &Conn{
		ws: ws, opts: opts, id: lastID.Add(1),
		queue:      make(chan []byte, opts.QueueSize),
		closing:    make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
}

// ID is unique among this process's sockets.
func (c *Conn) ID() uint64 { return c.id }

// Done is closed once the socket is fully closed and Run has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Send queues one encoded frame. It never blocks: when the queue is full the
// socket is closed with 4008 and false is returned.
func (c *Conn) Send(frame []byte) bool {
	select {
	case <-c.closing:
		return false
	default:
	}
	select {
	case c.queue <- frame:
		return true
	default:
		c.Close(protocol.CloseSlowConsumer)
		return false
	}
}

// SendFrame encodes and queues f.
func (c *Conn) SendFrame(f protocol.Frame) bool {
	b, err := protocol.Encode(f)
	if err != nil {
		return false
	}
	return c.Send(b)
}

// Close sends the close frame with code (after the frames already queued)
// and ends the socket. Later calls do nothing.
func (c *Conn) Close(code int) {
	c.closeOnce.Do(func() {
		c.closeCode = code
		c.closeText = protocol.CloseReason(code)
		close(c.closing)
	})
}

// Run reads frames and passes each text frame to handle, in order, on the
// calling goroutine; a second goroutine writes. It returns when the socket is
// closed (by either side, by the idle deadline, or by Close) and both
// goroutines have ended. handle must not block for long: it holds up this
// socket's reads, and nobody else's.
func (c *Conn) Run(handle func(data []byte)) {
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop(handle)
	c.Close(protocol.CloseNormal) // no-op when already closing
	close(c.readerDone)
	<-writerDone
	_ = c.ws.Close()
	close(c.done)
}

func (c *Conn) readLoop(handle func([]byte)) {
	// The limit is enforced here rather than by gorilla's SetReadLimit, which
	// closes with 1009 but no reason text; PROTOCOL.md promises the reason.
	extend := func() { _ = c.ws.SetReadDeadline(time.Now().Add(c.opts.IdleTimeout)) }
	extend()
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			return
		}
		if typ == websocket.BinaryMessage {
			c.Close(protocol.CloseUnsupportedData)
			return
		}
		data, err := io.ReadAll(io.LimitReader(r, c.opts.ReadLimit+1))
		if err != nil {
			return
		}
		if int64(len(data)) > c.opts.ReadLimit {
			c.Close(protocol.CloseMessageTooBig)
			return
		}
		extend()
		select {
		case <-c.closing:
			return
		default:
		}
		handle(data)
	}
}

func (c *Conn) writeLoop() {
	ping := time.NewTicker(c.opts.PingInterval)
	defer ping.Stop()
	for {
		select {
		case frame := <-c.queue:
			if !c.write(frame) {
				c.Close(protocol.CloseInternal)
				c.finish(false)
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteTimeout)); err != nil {
				c.Close(protocol.CloseInternal)
				c.finish(false)
				return
			}
		case <-c.closing: // also reached when the reader ends: Run closes first
			c.finish(true)
			return
		}
	}
}

func (c *Conn) write(frame []byte) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	return c.ws.WriteMessage(websocket.TextMessage, frame) == nil
}

// finish runs after closing is closed (so closeCode is set). It flushes what is queued (when the close is ours and orderly), sends
// the close frame, and waits briefly for the peer's answering close so the
// reader ends cleanly; then the socket is torn down.
func (c *Conn) finish(flush bool) {
	if flush && c.closeCode != protocol.CloseSlowConsumer {
	drain:
		for {
			select {
			case frame := <-c.queue:
				if !c.write(frame) {
					break drain
				}
			default:
				break drain
			}
		}
	}
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.opts.WriteTimeout))
	select {
	case <-c.readerDone:
	case <-time.After(2 * time.Second):
	}
	_ = c.ws.Close() // unblocks the reader if the peer never answered
}
