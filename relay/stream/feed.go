package stream

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/hub"
	"github.com/ari-chat/ari-server/shared/kv"
)

// Feed carries one agent socket's chunks to the buffers and to clients. The
// socket's reader hands each chunk to Chunk, which gives it to this
// instance's client sockets at once (one stream_chunk per chunk) and goes on
// reading; one sender goroutine at a time (started when there is something
// to send, gone when there is not) takes what has gathered and, for every
// reply with new text, appends it to stream:{id} and publishes one
// stream_chunk per member for the other instances, all in one pipelined
// round trip. Chunks that arrive while a round trip is in flight go out
// together in the next one, merged into one delta per reply: a busy socket
// needs fewer round trips and frames per chunk, an idle one sends each chunk
// at once. Offsets are exact because this instance is the only writer of a
// reply's buffer while it holds the agent's socket.
//
// Local sockets are given each chunk on the reader, not by the sender, so a
// chunk never waits for the Redis round trip of the batch before it, nor for
// a hand-off to the sender goroutine: on a busy machine both showed as the
// local delivery's tail (README, "The relay's tail").
type Feed struct {
	e   *Engine
	ctx context.Context
	// onErr hears of a batch the relay failed to send (Redis down); it runs
	// on the sender goroutine.
	onErr func(t *Task, err error)
	// ReadAt, when set, is when the frame being handled was read (the agent
	// socket's conn.ReadAt); chunk delivery is timed from it.
	ReadAt func() time.Time

	mu        sync.Mutex
	cancelled map[string]bool // tasks the agent was told to stop (task_cancel)
	pending   []*Task         // replies with queued text, in order of arrival
	busy      bool            // the sender goroutine runs
	idle      chan struct{}   // closed when the running sender ends
	senders   sync.WaitGroup
	// given counts the deltas queued so far, done those sent (or failed);
	// progress is closed and replaced whenever done moves (WaitFor).
	given, done uint64
	progress    chan struct{}
	// hurry is closed to end the sender's linger early: someone waits for
	// the feed, or a reply another instance receives got text. hurried
	// keeps the next batch from lingering at all.
	hurry   chan struct{}
	hurried bool
}

// NewFeed returns the feed of one agent socket. Close it when the socket ends.
func (e *Engine) NewFeed(ctx context.Context, onErr func(t *Task, err error)) *Feed {
	return &Feed{e: e, ctx: context.WithoutCancel(ctx), onErr: onErr}
}

// Chunk applies an agent_chunk like Engine.Chunk but does not wait for Redis.
// ErrEnded: the task is over (drop the chunk); a chunk that breaks the rules
// ends the reply in error, after what was queued before it has been sent.
func (f *Feed) Chunk(t *Task, content, mode string) error {
	f.mu.Lock()
	if f.cancelled[t.ID] {
		delete(f.cancelled, t.ID)
		t.ended.Store(true)
	}
	f.mu.Unlock()
	if t.ended.Load() {
		return ErrEnded
	}
	if t.lost.Load() {
		f.Wait()
		f.e.Lose(f.ctx, t)
		return ErrEnded
	}
	delta, end, err := merge(t, content, mode)
	if end != nil {
		f.Wait()
		f.e.Settle(f.ctx, t.ID, *end)
		return ErrEnded
	}
	if err != nil {
		return err
	}
	t.accept(delta)
	if t.feed != f {
		t.feed = f
		f.e.mu.Lock()
		f.e.feeds[t.ID] = f
		f.e.mu.Unlock()
	}
	f.mu.Lock()
	if !t.queuedIn {
		t.queuedIn = true
		f.pending = append(f.pending, t)
	}
	t.queued = append(t.queued, delta...)
	f.given++
	if !t.mayLinger() {
		f.hurryLocked()
	}
	if !f.busy {
		f.busy = true
		f.idle = make(chan struct{})
		f.senders.Add(1)
		// Started before the sockets are given the chunk: the goroutine
		// made last runs next on this processor, and that should be a
		// socket's writer, not the round trip to Redis.
		go f.send()
	}
	f.mu.Unlock()
	f.deliver(t, delta)
	return nil
}

// deliver gives delta, just accepted into t, to this instance's sockets of
// t's members as a stream_chunk; the sender's published copy skips them.
// Its offset is where the delta starts in the buffer once what is queued
// before it is appended (Task.shift follows a buffer another instance also
// appended to).
func (f *Feed) deliver(t *Task, delta string) {
	if delta == "" || t.ChannelID != "" {
		// A channel's reply reaches even this instance's subscribers
		// through Redis, after the append (appendDeltas).
		return
	}
	e := f.e
	offset := int64(len(t.Text)-len(delta)) + t.shift.Load()
	frame := appendStreamChunk(make([]byte, 0, chunkFrameSize(t, delta)), t.ID, t.ConversationID, delta, offset)
	var readAt time.Time
	if f.ReadAt != nil {
		readAt = f.ReadAt()
	}
	timed := !readAt.IsZero()
	if timed {
		e.latency.begin(frame, readAt)
	}
	given := 0
	for _, u := range t.to.list() {
		given += e.d.Hub.Deliver(e.d.Keys.UserChannel(u), frame)
	}
	if timed {
		e.latency.given(frame, given)
	}
}

// chunkFrameSize is enough for t's stream_chunk of delta (escapes aside),
// so that the frame is allocated once.
func chunkFrameSize(t *Task, delta string) int {
	return 96 + len(t.ID) + len(t.ConversationID) + len(delta) + len(delta)/8
}

// Cancelled notes that the agent is being told to stop a task (the reply
// ended elsewhere: a cancel, a timeout, its conversation deleted). Chunks the
// agent sends for it after that are dropped here rather than sent out ahead
// of the buffer's refusal, which would show them to members.
func (f *Feed) Cancelled(taskID string) {
	f.mu.Lock()
	if f.cancelled == nil || len(f.cancelled) >= 1024 {
		// Entries go when the agent next sends for the task; an agent that
		// never does leaves them, so they are bounded. A forgotten one only
		// means the buffer refuses its next chunk instead.
		f.cancelled = map[string]bool{}
	}
	f.cancelled[taskID] = true
	f.mu.Unlock()
}

// hurryLocked ends the sender's linger and keeps its next batch from
// lingering; f.mu held.
func (f *Feed) hurryLocked() {
	f.hurried = true
	if f.hurry != nil {
		close(f.hurry)
		f.hurry = nil
	}
}

// Wait returns once everything given to Chunk so far is sent (or failed).
// Call it before anything that reads or ends a reply's buffer.
func (f *Feed) Wait() {
	f.mu.Lock()
	busy, idle := f.busy, f.idle
	if busy {
		f.hurryLocked()
	}
	f.mu.Unlock()
	if busy {
		<-idle
	}
}

// Mark names everything given to Chunk so far, for WaitFor.
func (f *Feed) Mark() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.given
}

// WaitFor returns once everything given to Chunk before Mark returned mark
// is sent (or failed). Unlike Wait it does not wait for what is given after,
// so a goroutine may call it while the reader goes on feeding chunks: the
// end of a reply waits there, not on the agent socket's reader, which would
// hold up the chunks of the socket's other replies for a round trip.
func (f *Feed) WaitFor(mark uint64) {
	for {
		f.mu.Lock()
		if f.done >= mark || !f.busy {
			f.mu.Unlock()
			return
		}
		f.hurryLocked()
		if f.progress == nil {
			f.progress = make(chan struct{})
		}
		ch := f.progress
		f.mu.Unlock()
		<-ch
	}
}

// sent records that the deltas up to upTo have been sent; f.mu held.
func (f *Feed) sentLocked(upTo uint64) {
	f.done = upTo
	if f.progress != nil {
		close(f.progress)
		f.progress = nil
	}
}

// Close waits for the sender; the socket's reader calls it when it ends.
func (f *Feed) Close() {
	f.Wait()
	f.senders.Wait()
}

func (f *Feed) send() {
	defer f.senders.Done()
	for {
		f.mu.Lock()
		if f.lingerLocked() {
			hurry := make(chan struct{})
			f.hurry = hurry
			f.mu.Unlock()
			wait := time.NewTimer(f.e.d.ChunkLinger)
			select {
			case <-wait.C:
			case <-hurry:
			}
			wait.Stop()
			f.mu.Lock()
			if f.hurry == hurry {
				f.hurry = nil
			}
		}
		f.hurried = false
		batch := f.pending
		f.pending = nil
		upTo := f.given // every delta given so far is in this batch
		if len(batch) == 0 {
			f.busy = false
			f.sentLocked(upTo)
			close(f.idle)
			f.mu.Unlock()
			return
		}
		deltas := make([]string, 0, len(batch))
		kept := batch[:0]
		for _, t := range batch {
			d := string(t.queued)
			t.queued = t.queued[:0]
			t.queuedIn = false
			// Text queued behind a delta the buffer lost must not be
			// appended after the hole; the reply ends with what was kept.
			if t.lost.Load() {
				continue
			}
			kept = append(kept, t)
			deltas = append(deltas, d)
		}
		batch = kept
		f.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		errs, firsts := f.e.appendDeltas(f.ctx, batch, deltas, false)
		if len(firsts) > 0 {
			// A Postgres round trip; off this path, so that the chunks of
			// the socket's other replies do not wait for it.
			f.senders.Add(1)
			go func() {
				defer f.senders.Done()
				f.e.markFirst(f.ctx, firsts)
			}()
		}
		for i, err := range errs {
			if err != nil && !errors.Is(err, ErrEnded) {
				f.e.Lose(f.ctx, batch[i])
			}
			if err != nil && !errors.Is(err, ErrEnded) && f.onErr != nil {
				f.onErr(batch[i], err)
			}
		}
		f.mu.Lock()
		f.sentLocked(upTo)
		f.mu.Unlock()
	}
}

// lingerLocked reports whether the sender may wait ChunkLinger before its
// next round trip, letting more chunks gather into it: only when every reply
// with text waiting is a conversation's whose last publish reached no other
// instance (Task.alone). Its members here have the chunks already (deliver);
// the round trip only keeps the buffer for a later reader and feeds other
// instances, which a sync here waits for (ActiveStreams → flushBefore) and
// which would have had it published at once. A reply received elsewhere, a
// channel's reply (whose subscribers here too read the published copy), or
// anyone waiting for the feed ends the linger (hurry). f.mu held.
func (f *Feed) lingerLocked() bool {
	if f.e.d.ChunkLinger <= 0 || f.hurried || len(f.pending) == 0 {
		return false
	}
	for _, t := range f.pending {
		if !t.mayLinger() {
			return false
		}
	}
	return true
}

// appendDeltas appends each task's delta to its buffer and publishes it to
// the task's members as a stream_chunk, in one pipelined round trip. The
// offset is the buffer's length as this instance knows it (Task.sent).
//
// This instance's own sockets get the chunk first and skip the copy that
// comes back from Redis: given here (hub.Deliver) when deliver is set, or
// already by the caller (Feed.deliver); sockets on other instances get the
// published copy, which follows the append in the pipeline. Either way a
// socket subscribed before a sync reads the buffers gets every chunk live,
// in the buffer, or both. When the reply has ended meanwhile (the script
// refuses), the chunk went out all the same and arrives just before or after
// stream_end, whose content clients take.
//
// An empty delta only notes activity. The result has one error per task:
// nil, ErrEnded or a Redis failure. firsts are the replies that got their
// first text: the caller records it (markFirst).
func (e *Engine) appendDeltas(ctx context.Context, tasks []*Task, deltas []string, deliver bool) (errs []error, firsts []*Task) {
	at := time.Now()
	now := strconv.FormatInt(at.UnixMilli(), 10)
	ttl := int(kv.StreamTTL / time.Second)
	// Activity is noted at most every touchEvery per reply; the sweeper's
	// silence timeouts are many times longer.
	touchEvery := min(e.d.IdleTimeout/20, time.Second)
	pipe := e.d.Redis.Pipeline()
	skip := []byte(hub.InstancePrefix(e.d.InstanceID))
	scripts := make([]*redis.Cmd, len(tasks))
	pubs := make([][]*redis.IntCmd, len(tasks)) // a conversation reply's publishes, one per member
	local := 0                                  // frames handed to this instance's sockets
	keys := make([][]string, len(tasks))
	for i, t := range tasks {
		keys[i] = []string{e.d.Keys.Stream(t.ID), e.d.Keys.StreamMeta(t.ID)}
		touch := ""
		if t.touched.IsZero() || at.Sub(t.touched) >= touchEvery {
			touch, t.touched = now, at
		}
		scripts[i] = chunkScript.EvalSha(ctx, pipe, keys[i], deltas[i], touch, ttl)
		if deltas[i] == "" {
			continue
		}
		if t.ChannelID != "" {
			// One publish on the channel's topic, after the append: its
			// subscribers here get it back from Redis like everyone else,
			// so a socket that subscribes mid-reply and then reads the
			// buffer misses no chunk (relay/client/channels.go).
			pipe.SPublish(ctx, e.d.Keys.ChannelTopic(t.ChannelID), appendChannelStreamChunk(nil, t.ChannelID, t.ID, deltas[i], t.sent))
			continue
		}
		size := len(skip) + chunkFrameSize(t, deltas[i])
		payload := appendStreamChunk(append(make([]byte, 0, size), skip...), t.ID, t.ConversationID, deltas[i], t.sent)
		frame := payload[len(skip):len(payload):len(payload)]
		for _, u := range t.to.list() {
			channel := e.d.Keys.UserChannel(u)
			if deliver {
				local += e.d.Hub.Deliver(channel, frame)
			}
			pubs[i] = append(pubs[i], pipe.SPublish(ctx, channel, payload))
		}
	}
	if local > 0 {
		// Let the writers of the sockets just given a frame run before
		// this goroutine takes the processor for the round trip to Redis
		// (they usually wait on this processor's run queue).
		runtime.Gosched()
	}
	_, _ = pipe.Exec(ctx) // errors are read per command below
	errs = make([]error, len(tasks))
	for i, t := range tasks {
		n, err := scripts[i].Int64()
		if redis.HasErrorPrefix(err, "NOSCRIPT") { // Redis restarted or flushed its scripts
			n, err = chunkScript.Run(ctx, e.d.Redis, keys[i], deltas[i], now, ttl).Int64()
			t.touched = at
		}
		if err != nil {
			t.lost.Store(true)
			errs[i] = err
			continue
		}
		if n < 0 {
			t.ended.Store(true)
			errs[i] = ErrEnded
			continue
		}
		if want := t.sent + int64(len(deltas[i])); n < want {
			// Shorter than what was appended: a failover promoted a
			// replica that had not yet received some of the text.
			t.lost.Store(true)
			errs[i] = ErrLost
			t.sent = n
			continue
		} else if n != want {
			// Someone else appended (an older socket of the agent on
			// another instance, still sending): follow the buffer;
			// stream_end's content settles what clients show.
			e.d.Log.Warn("relay chunk offset moved", "reply", t.ID, "want", want, "buffer", n)
			t.shift.Add(n - want)
		}
		t.sent = n
		if pubs[i] != nil {
			t.alone.Store(e.publishedHereOnly(t, pubs[i]))
		}
		if !t.first {
			t.first = true
			firsts = append(firsts, t)
		}
	}
	return errs, firsts
}

// publishedHereOnly reports whether each of a reply's publishes, one per
// member in t.to's order, reached no subscriber but this instance's own.
// The members may have changed since (t.to); then it is false, as it is for
// a failed publish.
func (e *Engine) publishedHereOnly(t *Task, pubs []*redis.IntCmd) bool {
	members := t.to.list()
	if len(members) != len(pubs) {
		return false
	}
	for i, u := range members {
		n, err := pubs[i].Result()
		if err != nil {
			return false
		}
		own := int64(0)
		if e.d.Hub.Subscribed(e.d.Keys.UserChannel(u)) {
			own = 1
		}
		if n > own {
			return false
		}
	}
	return true
}

// markFirst records when the first chunk of each reply arrived.
func (e *Engine) markFirst(ctx context.Context, tasks []*Task) {
	for _, t := range tasks {
		var err error
		if t.ChannelID != "" {
			err = e.d.DB.MarkChannelFirstChunk(ctx, t.ID)
		} else {
			err = e.d.DB.MarkFirstChunk(ctx, t.ID)
		}
		if err != nil {
			e.d.Log.Warn("relay first chunk", "reply", t.ID, "err", err)
		}
	}
}
