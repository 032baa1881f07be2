package conn_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/conn"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/gorilla/websocket"
)

// serve runs one Conn per upgraded request and hands it to the test.
func serve(t *testing.T, opts conn.Options, handle func(c *conn.Conn, data []byte)) (string, chan *conn.Conn) {
	t.Helper()
	conns := make(chan *conn.Conn, 1)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		c := conn.New(ws, opts)
		conns <- c
		c.Run(func(data []byte) { handle(c, data) })
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), conns
}

func closeCode(t *testing.T, ws *websocket.Conn) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			t.Fatalf("read: %v", err)
		}
	}
}

func TestSlowConsumerIsClosedWithoutBlockingTheSender(t *testing.T) {
	url, conns := serve(t, conn.Options{QueueSize: 4}, func(*conn.Conn, []byte) {})
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := <-conns
	frame := []byte(`{"type":"pong","pad":"` + strings.Repeat("x", 64<<10) + `"}`)
	// Send never waits for the peer: with the peer reading nothing, the
	// sends end in a refusal. Were Send to block on the socket instead, it
	// would stay blocked (the peer never reads), which the bound reports.
	start := time.Now()
	refusedAfter := make(chan int, 1)
	go func() {
		for i := 0; i < 10000; i++ {
			if !c.Send(frame) { // the client reads nothing
				refusedAfter <- i
				return
			}
		}
		refusedAfter <- -1
	}()
	select {
	case n := <-refusedAfter:
		if n < 0 {
			t.Fatal("a peer that reads nothing was never refused")
		}
		t.Logf("refused after %d frames of 64 KiB, %s", n, time.Since(start).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("Send blocked on a peer that reads nothing")
	}
	if code := closeCode(t, ws); code != protocol.CloseSlowConsumer {
		t.Fatalf("close %d, want %d", code, protocol.CloseSlowConsumer)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("conn did not finish")
	}
}

// With Join set, a reply's chunks sent far faster than the peer reads are
// joined while they wait, so the peer that would have been closed with 4008
// gets the whole text, in fewer frames, and every frame given to Send is
// reported written once (as itself or as a part). Frames of another kind
// are never joined and keep their place.
func TestJoinedChunksReachASlowPeerWhole(t *testing.T) {
	var mu sync.Mutex
	written := map[string]int{}
	note := func(f []byte) { mu.Lock(); written[string(f)]++; mu.Unlock() }
	var writes, parts atomic.Int64
	url, conns := serve(t, conn.Options{QueueSize: 4, Join: protocol.JoinChunkFrames,
		Written: func(f []byte) { writes.Add(1); note(f) },
		Joined:  func(f []byte) { parts.Add(1); note(f) }}, func(*conn.Conn, []byte) {})
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := <-conns
	const chunks = 5000
	var want strings.Builder
	sent := make([][]byte, 0, chunks+chunks/500)
	go func() {
		off := int64(0)
		for i := range chunks {
			delta := "chunk " + strconv.Itoa(i) + " \"ö\n "
			f, _ := protocol.Encode(&protocol.StreamChunk{MessageID: "r_1", ConversationID: "c_1", Delta: delta, Offset: off})
			off += int64(len(delta))
			if !c.Send(f) {
				t.Errorf("chunk %d refused", i)
				return
			}
			if i%500 == 0 { // another kind of frame in between
				if !c.Send([]byte(`{"type":"pong"}`)) {
					t.Errorf("pong %d refused", i)
					return
				}
			}
		}
		c.Close(protocol.CloseNormal)
	}()
	off := int64(0)
	for i := range chunks {
		delta := "chunk " + strconv.Itoa(i) + " \"ö\n "
		want.WriteString(delta)
		f, _ := protocol.Encode(&protocol.StreamChunk{MessageID: "r_1", ConversationID: "c_1", Delta: delta, Offset: off})
		off += int64(len(delta))
		sent = append(sent, f)
	}
	var got strings.Builder
	frames, pongs := 0, 0
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.CloseNormalClosure {
				t.Fatalf("read after %d frames: %v", frames, err)
			}
			break
		}
		var f struct {
			Type   string
			Delta  string
			Offset int64
		}
		if err := json.Unmarshal(data, &f); err != nil {
			t.Fatal(err)
		}
		if f.Type == "pong" {
			pongs++
			continue
		}
		if f.Offset != int64(got.Len()) {
			t.Fatalf("frame %d at offset %d, text so far %d bytes", frames, f.Offset, got.Len())
		}
		got.WriteString(f.Delta)
		frames++
		if frames < 20 {
			time.Sleep(5 * time.Millisecond) // a slow start: the queue fills
		}
	}
	if got.String() != want.String() || pongs != chunks/500 {
		t.Fatalf("got %d bytes and %d pongs, want %d bytes and %d", got.Len(), pongs, want.Len(), chunks/500)
	}
	if frames >= chunks {
		t.Fatalf("%d frames for %d chunks: nothing was joined", frames, chunks)
	}
	<-c.Done()
	mu.Lock()
	defer mu.Unlock()
	for i, f := range sent {
		if written[string(f)] != 1 {
			t.Fatalf("chunk %d reported written %d times", i, written[string(f)])
		}
	}
	t.Logf("%d chunks arrived in %d frames; %d writes, %d joined parts", chunks, frames, writes.Load(), parts.Load())
}

// The idle timeout is far longer than the ping interval, so a peer that
// answers pings stays alive through a stall of over a second; it is watched
// for three idle timeouts.
func TestIdlePeerIsDroppedAndPingsKeepOneAlive(t *testing.T) {
	const idle = 1500 * time.Millisecond
	url, conns := serve(t, conn.Options{IdleTimeout: idle, PingInterval: 100 * time.Millisecond},
		func(c *conn.Conn, data []byte) { c.Send(data) })
	// A gorilla client answers pings while it reads: it stays.
	alive, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer alive.Close()
	c := <-conns
	go func() {
		for {
			if _, _, err := alive.ReadMessage(); err != nil {
				return
			}
		}
	}()
	select {
	case <-c.Done():
		t.Fatal("a peer answering pings was dropped")
	case <-time.After(3 * idle):
	}
	// A peer whose pongs never come back (it never reads) is dropped.
	silent, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c2 := <-conns
	start := time.Now()
	select {
	case <-c2.Done():
		t.Logf("a silent peer was dropped after %s (idle timeout %s)", time.Since(start).Round(time.Millisecond), idle)
	case <-time.After(10 * time.Second):
		t.Fatalf("idle peer not dropped within 10 s (idle timeout %s)", idle)
	}
}

// The writer runs only while there is something to send: frames sent in
// bursts, with idle gaps between them, all arrive in order, and Close still
// delivers what was queued before its close frame.
func TestBurstsAfterIdleArriveInOrderAndCloseFlushes(t *testing.T) {
	url, conns := serve(t, conn.Options{}, func(*conn.Conn, []byte) {})
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	c := <-conns
	want := 0
	for burst := 0; burst < 3; burst++ {
		for i := 0; i < 50; i++ {
			if !c.Send([]byte(`{"type":"pong","n":` + strconv.Itoa(want) + `}`)) {
				t.Fatalf("frame %d refused", want)
			}
			want++
		}
		if burst < 2 {
			time.Sleep(50 * time.Millisecond) // the writer goes idle
		}
	}
	c.Close(protocol.CloseGoingAway)
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for n := 0; ; n++ {
		_, data, err := ws.ReadMessage()
		if err != nil {
			ce, ok := err.(*websocket.CloseError)
			if !ok || ce.Code != protocol.CloseGoingAway || n != want {
				t.Fatalf("after %d of %d frames: %v", n, want, err)
			}
			break
		}
		if exp := `{"type":"pong","n":` + strconv.Itoa(n) + `}`; string(data) != exp {
			t.Fatalf("frame %d = %s, want %s", n, data, exp)
		}
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("conn did not finish")
	}
	if c.Send([]byte(`{"type":"pong"}`)) {
		t.Fatal("a closed conn accepted a frame")
	}
}
