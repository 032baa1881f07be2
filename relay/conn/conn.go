// Package conn is one WebSocket as the relay drives it: a reader (the caller's
// goroutine) and a writer goroutine draining a bounded queue, read limit, idle
// deadline, protocol pings, and closing with the codes of relay/protocol. Any
// goroutine may Send; a full queue closes the socket (4008) instead of blocking
// the sender, so one slow peer never slows anyone else.
//
// Most sockets are idle most of the time, and the relay holds thousands, so an
// idle socket costs as little as it can: the writer goroutine runs only while
// there is something to write (and exits when the queue is empty), the queue
// is a slice that grows to its bound only when needed, and pings come from a
// timer rather than a goroutine.
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
	// Written, if set, hears of each data frame once it is written, on the
	// writer goroutine (the relay counts frames out by type); it must be
	// quick and must not keep the frame.
	Written func(frame []byte)
	// Join, if set, may join a frame being queued to the last frame still
	// waiting in the queue (protocol.JoinChunkFrames), so a peer that reads
	// slower than frames come gets fewer, larger ones rather than a full
	// queue. The joined frame is written in their place; Joined, if set,
	// hears of each frame joined into it when it is written (Written hears
	// of the joined frame itself).
	Join   func(last, next []byte) ([]byte, bool)
	Joined func(part []byte)
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

	mu        sync.Mutex
	queue     [][]byte // frames not yet written, oldest first; at most QueueSize
	writing   bool     // a writer goroutine runs; it alone writes data frames
	closed    bool     // Close was called; closeCode and closeText are set
	closeCode int
	closeText string
	writers   sync.WaitGroup

	closing    chan struct{} // closed when Close was called
	finished   chan struct{} // closed when the close frame is out (or failed)
	readerDone chan struct{}
	done       chan struct{} // closed when the socket is torn down and Run returned
	ping       *time.Timer   // guarded by mu
	pingMu     sync.Mutex    // held while a ping is written, so Run can wait one out
	readAt     time.Time     // when the frame being handled was read; reader goroutine only
	// waiters hears when a frame given to SendWait has been written (by the
	// address of its first byte); guarded by mu, counted in nwait so the
	// writer looks only when someone waits.
	waiters map[*byte]chan bool
	nwait   atomic.Int32
	// parts lists, by the address of a joined frame's first byte, the frames
	// joined into it (Options.Join); guarded by mu.
	parts map[*byte][][]byte
	njoin atomic.Int32 // len(parts), so the writer looks only when there are some
}

// New wraps an upgraded socket. Call Run to start it.
func New(ws *websocket.Conn, opts Options) *Conn {
	opts.defaults()
	return &Conn{
		ws: ws, opts: opts, id: lastID.Add(1),
		closing:    make(chan struct{}),
		finished:   make(chan struct{}),
		readerDone: make(chan struct{}),
		done:       make(chan struct{}),
	}
}

// ID is unique among this process's sockets.
func (c *Conn) ID() uint64 { return c.id }

// ReadAt is when the frame being handled was read. Only the handler given to
// Run (on the reader goroutine) may call it.
func (c *Conn) ReadAt() time.Time { return c.readAt }

// Done is closed once the socket is fully closed and Run has returned.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Send queues one encoded frame. It never blocks: when the queue is full the
// socket is closed with 4008 and false is returned.
func (c *Conn) Send(frame []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.joinLocked(frame) {
		return true
	}
	if len(c.queue) >= c.opts.QueueSize {
		c.closeLocked(protocol.CloseSlowConsumer)
		return false
	}
	c.queue = append(c.queue, frame)
	c.startWriterLocked()
	return true
}

// joinLocked joins frame to the last queued frame when Options.Join can;
// frames someone waits on (SendWait) are never joined. c.mu held.
func (c *Conn) joinLocked(frame []byte) bool {
	n := len(c.queue)
	if c.opts.Join == nil || n == 0 || len(frame) == 0 {
		return false
	}
	last := c.queue[n-1]
	if len(last) == 0 || c.waiters[&last[0]] != nil || c.waiters[&frame[0]] != nil {
		return false
	}
	joined, ok := c.opts.Join(last, frame)
	if !ok || len(joined) == 0 {
		return false
	}
	if c.parts == nil {
		c.parts = map[*byte][][]byte{}
	}
	parts, wasJoined := c.parts[&last[0]]
	if wasJoined {
		delete(c.parts, &last[0])
	} else {
		parts = [][]byte{last}
	}
	c.parts[&joined[0]] = append(parts, frame)
	c.njoin.Store(int32(len(c.parts)))
	c.queue[n-1] = joined
	return true
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
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closeLocked(code)
}

func (c *Conn) closeLocked(code int) {
	if c.closed {
		return
	}
	c.closed = true
	c.closeCode = code
	c.closeText = protocol.CloseReason(code)
	close(c.closing)
	c.startWriterLocked() // it writes the close frame
}

func (c *Conn) startWriterLocked() {
	if c.writing {
		return
	}
	c.writing = true
	c.writers.Add(1)
	go c.writeLoop()
}

// Run reads frames and passes each text frame to handle, in order, on the
// calling goroutine; writes happen on a writer goroutine that runs while
// there is something to write. It returns when the socket is closed (by
// either side, by the idle deadline, or by Close) and every goroutine it
// started has ended. handle must not block for long: it holds up this
// socket's reads, and nobody else's.
func (c *Conn) Run(handle func(data []byte)) {
	c.mu.Lock()
	c.ping = time.AfterFunc(c.opts.PingInterval, c.sendPing)
	c.mu.Unlock()
	c.readLoop(handle)
	c.Close(protocol.CloseNormal) // no-op when already closing
	close(c.readerDone)
	<-c.finished
	c.writers.Wait()
	c.mu.Lock()
	c.ping.Stop()
	c.mu.Unlock()
	// A ping already under way ends; later ones see closing.
	c.pingMu.Lock()
	//lint:ignore SA2001 the empty section waits out a ping being written
	c.pingMu.Unlock()
	_ = c.ws.Close()
	close(c.done)
}

// sendPing runs on the ping timer's goroutine. WriteControl may run
// concurrently with the writer (gorilla serializes them).
func (c *Conn) sendPing() {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	select {
	case <-c.closing:
		return
	default:
	}
	if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteTimeout)); err != nil {
		c.Close(protocol.CloseInternal)
		return
	}
	c.mu.Lock()
	if !c.closed {
		c.ping.Reset(c.opts.PingInterval)
	}
	c.mu.Unlock()
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
		c.readAt = time.Now()
		_ = c.ws.SetReadDeadline(c.readAt.Add(c.opts.IdleTimeout))
		select {
		case <-c.closing:
			return
		default:
		}
		handle(data)
	}
}

// writeLoop writes what is queued, then exits when nothing is left; after
// Close it writes the close frame and finishes the socket.
func (c *Conn) writeLoop() {
	defer c.writers.Done()
next:
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			c.finish()
			return
		}
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		for i, frame := range batch {
			select {
			case <-c.closing: // finish decides about the rest
				c.mu.Lock()
				c.queue = append(batch[i:], c.queue...)
				c.mu.Unlock()
				continue next
			default:
			}
			if !c.write(frame) {
				c.mu.Lock()
				c.queue = nil
				c.closeLocked(protocol.CloseInternal)
				c.mu.Unlock()
				break
			}
		}
	}
}

func (c *Conn) write(frame []byte) bool {
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
	ok := c.ws.WriteMessage(websocket.TextMessage, frame) == nil
	if c.nwait.Load() > 0 && len(frame) > 0 {
		c.mu.Lock()
		ch := c.waiters[&frame[0]]
		delete(c.waiters, &frame[0])
		c.mu.Unlock()
		if ch != nil {
			c.nwait.Add(-1)
			ch <- ok
		}
	}
	if ok && c.opts.Written != nil {
		c.opts.Written(frame)
	}
	if c.njoin.Load() > 0 && len(frame) > 0 {
		c.mu.Lock()
		parts := c.parts[&frame[0]]
		delete(c.parts, &frame[0])
		c.njoin.Store(int32(len(c.parts)))
		c.mu.Unlock()
		if ok && c.opts.Joined != nil {
			for _, p := range parts {
				c.opts.Joined(p)
			}
		}
	}
	return ok
}

// SendWait queues one encoded frame like Send and waits until the writer
// has handed it to the connection (true), or the socket ended without it
// (false): for a frame whose delivery is recorded afterwards, so that a
// socket closing meanwhile does not count as having received it.
func (c *Conn) SendWait(frame []byte) bool {
	if len(frame) == 0 {
		return false
	}
	ch := make(chan bool, 1)
	c.mu.Lock()
	if c.waiters == nil {
		c.waiters = map[*byte]chan bool{}
	}
	c.waiters[&frame[0]] = ch
	c.nwait.Add(1)
	c.mu.Unlock()
	if !c.Send(frame) {
		c.mu.Lock()
		if c.waiters[&frame[0]] == ch {
			delete(c.waiters, &frame[0])
			c.nwait.Add(-1)
		}
		c.mu.Unlock()
		return false
	}
	select {
	case ok := <-ch:
		return ok
	case <-c.done:
		select { // written just before the end?
		case ok := <-ch:
			return ok
		default:
			return false
		}
	}
}

// finish runs once, on the last writer, after Close. It flushes what is
// queued (unless the peer is too slow to take it), sends the close frame, and
// waits briefly for the peer's answering close so the reader ends cleanly;
// then the socket is torn down.
func (c *Conn) finish() {
	defer close(c.finished)
	c.mu.Lock()
	rest := c.queue
	c.queue = nil
	c.mu.Unlock()
	if c.closeCode != protocol.CloseSlowConsumer && c.closeCode != protocol.CloseInternal {
		for _, frame := range rest {
			if !c.write(frame) {
				break
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
