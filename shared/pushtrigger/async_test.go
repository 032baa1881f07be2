package pushtrigger

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// blocker is a Notifier that holds each call until its context ends, the way
// a send stuck on an unresponsive push service would.
type blocker struct {
	started atomic.Int32
	ended   atomic.Int32
}

func (b *blocker) OnReply(ctx context.Context, _ ari.Message) []Decision {
	b.started.Add(1)
	<-ctx.Done()
	b.ended.Add(1)
	return nil
}

func (b *blocker) OnUserMessage(ctx context.Context, m ari.Message, _ string) []Decision {
	return b.OnReply(ctx, m)
}

func (b *blocker) OnAgentMessage(ctx context.Context, m ari.Message, _ string) []Decision {
	return b.OnReply(ctx, m)
}

func (b *blocker) OnInputRequest(ctx context.Context, r ari.InputRequest) []Decision {
	return b.OnReply(ctx, ari.Message{ID: r.MessageID})
}
func (b *blocker) OnChannelMention(ctx context.Context, m ChannelMention) []Decision {
	return b.OnReply(ctx, ari.Message{ID: m.MessageID})
}

func TestAsyncNotifierBoundsTimesOutAndCloses(t *testing.T) {
	b := &blocker{}
	d := NewAsyncNotifier(b, 200*time.Millisecond, 2, nil)
	if !d.Reply(ari.Message{ID: "m1"}) || !d.UserMessage(ari.Message{ID: "m2"}, "n") {
		t.Fatal("calls within the bound were refused")
	}
	// The caller never waits: a third call is dropped at once, not queued.
	start := time.Now()
	if d.Reply(ari.Message{ID: "m3"}) {
		t.Fatal("a call beyond the bound was accepted")
	}
	// Had it waited for a slot, a running call would have ended first.
	if b.ended.Load() != 0 || time.Since(start) > time.Second {
		t.Fatal("a dropped call blocked its caller")
	}
	// Each call ends by its own timeout.
	d.Wait()
	if b.started.Load() != 2 || b.ended.Load() != 2 {
		t.Fatalf("started %d ended %d", b.started.Load(), b.ended.Load())
	}

	// Close cancels what is in flight and refuses more.
	d2 := NewAsyncNotifier(b, time.Hour, 4, nil)
	d2.Reply(ari.Message{ID: "m4"})
	done := make(chan struct{})
	go func() { d2.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not cancel an in-flight call")
	}
	if d2.Reply(ari.Message{ID: "m5"}) {
		t.Fatal("a closed async notifier accepted a call")
	}

	// Shutdown gives in-flight calls until its deadline, then cancels.
	d3 := NewAsyncNotifier(b, time.Hour, 4, nil)
	d3.Reply(ari.Message{ID: "m6"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start = time.Now()
	d3.Shutdown(ctx)
	if el := time.Since(start); el < 90*time.Millisecond || el > 5*time.Second {
		t.Fatalf("Shutdown took %v, want about its 100 ms deadline", el)
	}
	if d3.UserMessage(ari.Message{ID: "m7"}, "n") {
		t.Fatal("a shut-down async notifier accepted a call")
	}
}

// The real Trigger through a AsyncNotifier, fed whole messages as the relay
// has them.
func TestAsyncNotifierRunsTheTrigger(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	u, path := f.user(t, "dispatched", nil)
	peer, peerPath := f.user(t, "peer", nil)
	var agentID string
	if err := f.db.Pool.QueryRow(ctx, `insert into agents (owner_id, name, handle, token_hash) values ($1, 'Helper', 'helper', $2) returning id`,
		u.ID, []byte(testenv.RandomID(16))).Scan(&agentID); err != nil {
		t.Fatal(err)
	}
	direct := f.conversation(t, "direct", "", []string{u.ID})
	group := f.conversation(t, "group", "Pals", []string{u.ID, peer.ID})

	d := NewAsyncNotifier(f.tr, 10*time.Second, 4, nil)
	defer d.Close()
	// Not complete: no notification.
	d.Reply(ari.Message{ID: "m-0", ConversationID: direct, SenderAgentID: &agentID, Status: ari.StatusError, Content: "x"})
	d.Reply(ari.Message{ID: "m-1", ConversationID: direct, SenderAgentID: &agentID, Status: ari.StatusComplete, Content: "done"})
	d.UserMessage(ari.Message{ID: "m-2", ConversationID: group, SenderUserID: &u.ID, Status: ari.StatusComplete, Content: "hi"}, u.Name)
	d.Wait()
	if got := f.received(t, path); len(got) != 1 || got[0].Kind != notify.KindAgentReply || got[0].Title != "Helper" || got[0].MessageID != "m-1" {
		t.Fatalf("the asker received %+v", got)
	}
	if got := f.received(t, peerPath); len(got) != 1 || got[0].Kind != notify.KindGroupMessage || got[0].Title != u.Name+" in Pals" || got[0].Body != "hi" {
		t.Fatalf("the peer received %+v", got)
	}
}
