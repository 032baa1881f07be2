package stream

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func runHub(t *testing.T, rdb redis.UniversalClient, instance string) *hub.Hub {
	t.Helper()
	h := hub.New(rdb, slog.Default(), instance)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = h.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// streamingTask is a conversation reply of user streaming under keys, as
// far as the feed needs one: its recipients and an open buffer.
func streamingTask(t *testing.T, rdb redis.UniversalClient, keys kv.Keys, user string) *Task {
	t.Helper()
	task := &Task{ID: "m_" + testenv.RandomID(10), ConversationID: "c1", AgentID: "a1", to: &recipients{}, first: true}
	users := []string{user}
	task.to.users.Store(&users)
	if err := rdb.HSet(context.Background(), keys.StreamMeta(task.ID), "ended", "0").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), keys.Stream(task.ID), keys.StreamMeta(task.ID)) })
	return task
}

// A reply whose chunks no other instance receives lets them gather for
// ChunkLinger before its buffer's round trip; anyone waiting for the feed
// (a sync, a cancel, the reply's end) cuts that short, and once another
// instance subscribes to a member the chunks go at once again.
func TestFeedLingersOnlyWhileNoOtherInstanceListens(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	here := runHub(t, rdb, "i1")
	e := New(Deps{Redis: rdb, Keys: keys, Hub: here, Log: slog.Default(), InstanceID: "i1",
		ChunkLinger: time.Hour, IdleTimeout: time.Minute, FirstChunkTimeout: time.Minute})
	calls := roundTrips{match: map[string]bool{"evalsha": true, "eval": true}}
	rdb.AddHook(&calls)

	const user = "u1"
	got := make(chan []byte, 100)
	if err := here.Subscribe(ctx, keys.UserChannel(user), 1, func(b []byte) { got <- b }); err != nil {
		t.Fatal(err)
	}
	task := streamingTask(t, rdb, keys, user)
	buffer := func() string { s, _ := rdb.Get(ctx, keys.Stream(task.ID)).Result(); return s }
	f := e.NewFeed(ctx, nil)
	defer f.Close()

	// The first chunk goes at once: nobody knows yet who receives it.
	if err := f.Chunk(task, "one ", ""); err != nil {
		t.Fatal(err)
	}
	f.WaitFor(f.Mark())
	if b := buffer(); b != "one " {
		t.Fatalf("buffer %q after the first chunk", b)
	}
	if !task.alone.Load() {
		t.Fatal("a publish only this instance subscribes to did not mark the reply alone")
	}

	// The next three gather: the local socket has each at once, the buffer
	// none of them until someone waits, then all in one script call.
	before := calls.single.Load() + calls.piped.Load()
	for _, d := range []string{"two ", "three ", "four "} {
		if err := f.Chunk(task, task.Text+d, "accumulated"); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("a chunk did not reach the local socket while the feed lingered")
		}
	}
	if b := buffer(); b != "one " {
		t.Fatalf("buffer %q while lingering, want the first chunk only", b)
	}
	start := time.Now()
	f.WaitFor(f.Mark())
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("WaitFor took %s: the linger was not cut short", waited)
	}
	if b := buffer(); b != "one two three four " {
		t.Fatalf("buffer %q after WaitFor", b)
	}
	if n := calls.single.Load() + calls.piped.Load() - before; n != 1 {
		t.Fatalf("three chunks took %d script calls, want 1", n)
	}

	// Another instance starts receiving the member's chunks: the next
	// publish counts it, and from then on nothing waits.
	there := runHub(t, rdb, "i2")
	remote := make(chan []byte, 100)
	if err := there.Subscribe(ctx, keys.UserChannel(user), 1, func(b []byte) { remote <- b }); err != nil {
		t.Fatal(err)
	}
	f.Wait() // (the linger is an hour: the next chunk must not wait for it)
	if err := f.Chunk(task, task.Text+"five ", "accumulated"); err != nil {
		t.Fatal(err)
	}
	f.WaitFor(f.Mark()) // this chunk was lingering (alone was still true)
	select {
	case <-remote:
	case <-time.After(5 * time.Second):
		t.Fatal("the other instance did not receive the chunk")
	}
	if task.alone.Load() {
		t.Fatal("a publish another instance received left the reply alone")
	}
	if err := f.Chunk(task, task.Text+"six", "accumulated"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-remote:
	case <-time.After(5 * time.Second):
		t.Fatal("with another instance listening, a chunk still waited for the linger")
	}
	if b := buffer(); b != "one two three four five six" {
		t.Fatalf("buffer %q", b)
	}
}

// With no linger configured nothing waits, alone or not.
func TestFeedWithoutLingerSendsAtOnce(t *testing.T) {
	rdb, keys := testenv.Redis(t)
	ctx := context.Background()
	here := runHub(t, rdb, "i1")
	e := New(Deps{Redis: rdb, Keys: keys, Hub: here, Log: slog.Default(), InstanceID: "i1"})
	if err := here.Subscribe(ctx, keys.UserChannel("u1"), 1, func([]byte) {}); err != nil {
		t.Fatal(err)
	}
	task := streamingTask(t, rdb, keys, "u1")
	f := e.NewFeed(ctx, nil)
	defer f.Close()
	text := ""
	for _, d := range []string{"a", "b", "c"} {
		text += d
		if err := f.Chunk(task, text, "accumulated"); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if s, _ := rdb.Get(ctx, keys.Stream(task.ID)).Result(); s == text {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("chunk %q not appended within 5 s without anyone waiting", d)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}
