package stream

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Feed.deliver runs on the agent socket's reader for every chunk: the frame
// built once and handed to each local socket of the reply's members.
func BenchmarkFeedDeliver(b *testing.B) {
	rdb, keys := testenv.Redis(b)
	h := hub.New(rdb, slog.Default(), "i1")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	defer func() { cancel(); <-done }()
	var got atomic.Int64
	e := New(Deps{Redis: rdb, Keys: keys, Hub: h, Log: slog.Default(), InstanceID: "i1"})
	written := func(frame []byte) { got.Add(1); e.Written(frame) } // as a socket's writer would
	for _, u := range []string{"u1", "u2"} {
		if err := h.Subscribe(ctx, keys.UserChannel(u), 1, written); err != nil {
			b.Fatal(err)
		}
	}
	f := e.NewFeed(ctx, nil)
	f.ReadAt = time.Now
	t := &Task{ID: "m_01JEXAMPLE0000000000000000", ConversationID: "c_01JEXAMPLE0000000000000000", to: &recipients{}}
	users := []string{"u1", "u2"}
	t.to.users.Store(&users)
	delta := "Tokyo is the capital of Japan and its largest city; the Greater Tokyo Area is the most populous."
	b.ReportAllocs()
	for b.Loop() {
		t.accept(delta)
		f.deliver(t, delta)
		if t.text.Len() > 1<<20 {
			t.text.Reset()
		}
	}
	if got.Load() == 0 {
		b.Fatal("no socket was given a frame")
	}
}
