package pushtrigger

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/notify"
)

// blocker is a Notifier that holds each call until its context ends, the way
// a send stuck on an unresponsive push service would.
type blocker struct {
	started atomic.Int32
	ended   atomic.Int32
}

func (b *blocker) OnReplyComplete(ctx context.Context, _, _, _, _ string) []Decision {
	b.started.Add(1)
	<-ctx.Done()
	b.ended.Add(1)
	return nil
}

func (b *blocker) OnGroupMessage(ctx context.Context, c, m, _, n, x string, _ []string) []Decision {
	return b.OnReplyComplete(ctx, c, m, n, x)
}

func TestDispatcherBoundsTimesOutAndCloses(t *testing.T) {
	b := &blocker{}
	d := NewDispatcher(b, 200*time.Millisecond, 2, nil)
	if !d.ReplyComplete("c", "m1", "a", "x") || !d.GroupMessage("c", "m2", "u", "n", "x", nil) {
		t.Fatal("calls within the bound were refused")
	}
	// The caller never waits: a third call is dropped at once, not queued.
	start := time.Now()
	if d.ReplyComplete("c", "m3", "a", "x") {
		t.Fatal("a call beyond the bound was accepted")
	}
	if time.Since(start) > 50*time.Millisecond {
		t.Fatal("a dropped call blocked its caller")
	}
	// Each call ends by its own timeout.
	d.Wait()
	if b.started.Load() != 2 || b.ended.Load() != 2 {
		t.Fatalf("started %d ended %d", b.started.Load(), b.ended.Load())
	}
	// Close cancels what is in flight and refuses more.
	d2 := NewDispatcher(b, time.Hour, 4, nil)
	d2.ReplyComplete("c", "m4", "a", "x")
	done := make(chan struct{})
	go func() { d2.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel an in-flight call")
	}
	if d2.ReplyComplete("c", "m5", "a", "x") {
		t.Fatal("a closed dispatcher accepted a call")
	}
}

// The real Trigger through a Dispatcher delivers.
func TestDispatcherRunsTheTrigger(t *testing.T) {
	f := setup(t)
	u, path := f.user(t, "dispatched", nil)
	conv := f.conversation(t, "direct", "", []string{u.ID})
	d := NewDispatcher(f.tr, 10*time.Second, 4, nil)
	defer d.Close()
	if !d.ReplyComplete(conv, "m-1", "Helper", "done") {
		t.Fatal("refused")
	}
	d.Wait()
	if got := f.received(t, path); len(got) != 1 || got[0].Kind != notify.KindAgentReply {
		t.Fatalf("delivered %+v", got)
	}
}
