package conn_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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
