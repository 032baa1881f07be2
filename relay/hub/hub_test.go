package hub_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestSubscriptionsFollowLocalSockets(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	h := hub.New(rdb, slog.Default(), "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	defer func() { cancel(); <-done }()

	ch := keys.UserChannel("u1")
	var mu sync.Mutex
	got := map[uint64][]string{}
	handler := func(id uint64) func([]byte) {
		return func(p []byte) {
			mu.Lock()
			got[id] = append(got[id], string(p))
			mu.Unlock()
		}
	}
	if err := h.Subscribe(ctx, ch, 1, handler(1)); err != nil {
		t.Fatal(err)
	}
	if err := h.Subscribe(ctx, ch, 2, handler(2)); err != nil {
		t.Fatal(err)
	}
	// Subscribed means confirmed: a publish right now is received.
	if n, err := h.Publish(ctx, ch, []byte("a")); err != nil || n != 1 {
		t.Fatalf("publish = %d, %v; want one receiving instance", n, err)
	}
	// Delivery to local sockets is asynchronous: let "a" reach both before
	// socket 1 leaves (a socket that has left gets nothing, by design).
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n1, n2 := len(got[1]), len(got[2])
		mu.Unlock()
		if n1 == 1 && n2 == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("first message not received by both sockets")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.Unsubscribe(ctx, ch, 1)
	if n, _ := h.Publish(ctx, ch, []byte("b")); n != 1 {
		t.Fatalf("still one local socket, but %d receivers", n)
	}
	for {
		mu.Lock()
		n := len(got[2])
		mu.Unlock()
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("second message not received")
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.Unsubscribe(ctx, ch, 2)
	for {
		n, _ := rdb.PubSubShardNumSub(ctx, ch).Result()
		if n[ch] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("last socket gone, channel still subscribed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got[1]) != 1 || got[1][0] != "a" || len(got[2]) != 2 {
		t.Fatalf("received %v", got)
	}
	if h.Channels() != 0 {
		t.Fatalf("%d channels left", h.Channels())
	}
}

func TestUserPayloadSkip(t *testing.T) {
	f, skip := hub.SplitUserPayload(hub.UserPayload([]byte(`{"type":"x"}`), "i1/7"))
	if string(f) != `{"type":"x"}` || skip != "i1/7" {
		t.Fatalf("%q %q", f, skip)
	}
	f, skip = hub.SplitUserPayload([]byte(`{"type":"x"}`))
	if string(f) != `{"type":"x"}` || skip != "" {
		t.Fatalf("%q %q", f, skip)
	}
}

// An instance delivers its own frames to its sockets directly and skips the
// copy that comes back through Redis; other instances' sockets take that copy.
func TestDeliverLocallyAndSkipTheEcho(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	h := hub.New(rdb, slog.Default(), "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	defer func() { cancel(); <-done }()

	ch := keys.UserChannel("u1")
	got := make(chan string, 10)
	if err := h.Subscribe(ctx, ch, 1, func(p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	// Deliver calls the handlers before it returns, so what it delivered is
	// in got already and nothing else can be.
	if n := h.Deliver(ch, []byte(`{"type":"x"}`)); n != 1 {
		t.Fatalf("Deliver reached %d handlers, want 1", n)
	}
	if n := h.Deliver(keys.UserChannel("nobody-here"), []byte(`{"type":"y"}`)); n != 0 {
		t.Fatalf("Deliver to a channel without local sockets reached %d handlers", n)
	}
	if len(got) != 1 {
		t.Fatalf("%d payloads delivered, want 1", len(got))
	}
	if p := <-got; p != `{"type":"x"}` {
		t.Fatalf("delivered %q", p)
	}
	skip := hub.InstanceName("i1")
	f, s := hub.SplitUserPayload(hub.UserPayload([]byte(`{"type":"x"}`), skip))
	if string(f) != `{"type":"x"}` || !hub.Skips(s, hub.SocketName("i1", 7)) || hub.Skips(s, hub.SocketName("i2", 7)) ||
		hub.Skips(s, hub.SocketName("i10", 7)) || !hub.Skips("i1/7", "i1/7") || hub.Skips("i1/7", "i1/70") || hub.Skips("", "i1/7") {
		t.Fatalf("skip %q", s)
	}
}

// What this instance marked as delivered by itself is dropped when Redis
// brings it back; what another instance marked for its own sockets is not.
func TestRunDropsOwnEcho(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	h := hub.New(rdb, slog.Default(), "i1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	defer func() { cancel(); <-done }()

	ch := keys.UserChannel("u1")
	got := make(chan string, 10)
	if err := h.Subscribe(ctx, ch, 1, func(p []byte) { got <- string(p) }); err != nil {
		t.Fatal(err)
	}
	// Redis delivers one channel's messages in the order they were
	// published, so the unmarked last one arrives after anything the hub
	// failed to drop.
	for _, p := range [][]byte{
		hub.UserPayload([]byte(`{"type":"mine"}`), hub.InstanceName("i1")),
		hub.UserPayload([]byte(`{"type":"theirs"}`), hub.InstanceName("i2")),
		[]byte(`{"type":"last"}`),
	} {
		if _, err := h.Publish(ctx, ch, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{`{"type":"theirs"}`, `{"type":"last"}`} {
		select {
		case p := <-got:
			if f, _ := hub.SplitUserPayload([]byte(p)); string(f) != want {
				t.Fatalf("got %q, want %s", p, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not arrive within 10s", want)
		}
	}
}
