package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Sweep looks at every open reply once. It is safe on every instance at
// once: each ending goes through Settle's guarded UPDATE, and restarting a
// queue goes through the atomic claim of the active mark.
//
//   - A streaming reply whose conversation's active mark is gone (or names
//     another reply) lost its driver: it ends in error "interrupted" with the
//     buffered text.
//   - A streaming reply whose agent was silent past the first-chunk or idle
//     timeout ends in error "agent_timeout" (the agent gets task_cancel).
//   - A tool call whose time is up and that no timer ended (the instance
//     timing it died) ends in error "timeout"; the agent is told wherever
//     its socket is.
//   - A reply whose end was saved by an instance that stopped before
//     announcing it is announced (recover.go).
//   - A conversation with pending replies and no active one has a stalled
//     queue (an instance died between two steps): missing ids are put back
//     in seq order and the head is started.
func (e *Engine) Sweep(ctx context.Context) error {
	open, err := e.d.DB.OpenReplies(ctx, e.d.Keys.Prefix)
	if err != nil {
		return err
	}
	byConv := map[string][]store.OpenReply{}
	var order, marks, streaming []string
	for _, r := range open {
		if _, ok := byConv[r.ConversationID]; !ok {
			order = append(order, r.ConversationID)
			marks = append(marks, e.d.Keys.ConvActive(r.ConversationID))
		}
		byConv[r.ConversationID] = append(byConv[r.ConversationID], r)
		if r.Status == ari.StatusStreaming {
			streaming = append(streaming, r.ID)
		}
	}
	e.forgetDeleted(ctx, open)
	var errs []error
	if err := e.sweepInputs(ctx); err != nil {
		errs = append(errs, fmt.Errorf("input requests: %w", err))
	}
	if err := e.sweepSettling(ctx); err != nil {
		errs = append(errs, fmt.Errorf("settling notes: %w", err))
	}
	if err := e.sweepToolCalls(ctx); err != nil {
		errs = append(errs, fmt.Errorf("tool calls: %w", err))
	}
	read := e.readForSweep(ctx, marks, streaming)
	for i, conv := range order {
		if err := e.sweepConversation(ctx, conv, marks[i], byConv[conv], read); err != nil {
			errs = append(errs, fmt.Errorf("conversation %s: %w", conv, err))
		}
	}
	if err := e.sweepChannels(ctx); err != nil {
		errs = append(errs, fmt.Errorf("channel replies: %w", err))
	}
	return errors.Join(errs...)
}

// orphanAge is how old a pending reply missing from its queue must be before
// the sweeper puts it back.
const orphanAge = 5 * time.Second

func (e *Engine) sweepConversation(ctx context.Context, conv, mark string, replies []store.OpenReply, read *sweepRead) error {
	active, err := read.active(mark)
	if err != nil {
		return err
	}
	streaming := false
	for _, r := range replies {
		if r.Status == ari.StatusWaitingInput {
			// Waiting for a person: no silence timeout, and the reply
			// keeps its place (PROTOCOL.md section 10), driven or not.
			streaming = true
			if err := e.holdWaiting(ctx, r); err != nil {
				return err
			}
			continue
		}
		if r.Status != ari.StatusStreaming {
			continue
		}
		streaming = true
		if active != r.ID {
			e.Settle(ctx, r.ID, End{Status: ari.StatusError, Code: protocol.StreamErrInterrupted,
				Message: "the relay instance streaming this reply stopped"})
			continue
		}
		end, err := e.silence(read, r.ID)
		if err != nil {
			return err
		}
		if end != nil {
			e.Settle(ctx, r.ID, *end)
		}
	}
	if streaming || active != "" {
		return nil
	}
	queued, err := e.d.Redis.LRange(ctx, e.d.Keys.ConvQueue(conv), 0, -1).Result()
	if err != nil {
		return err
	}
	var missing []any
	for _, r := range replies {
		// A fresh pending reply may be between its insert and its enqueue
		// on a live instance; only a reply left alone for a while is lost.
		if r.Status == ari.StatusPending && !slices.Contains(queued, r.ID) && time.Since(r.CreatedAt) > orphanAge {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		// Ahead of what is queued: these are older (lower seq) than anything
		// a live instance queued since.
		slices.Reverse(missing)
		if err := e.d.Redis.LPush(ctx, e.d.Keys.ConvQueue(conv), missing...).Err(); err != nil {
			return err
		}
	}
	e.advance(ctx, conv)
	return nil
}

// sweepRead is what one sweep reads from Redis before it decides: the active
// mark of every conversation (or channel) with an open reply and the silence
// fields of every streaming reply, read in pipelines of sweepBatch commands.
// Every instance sweeps every open reply each SweepInterval; read one by one,
// 1,000 streaming replies cost 2,000 round trips per sweep per instance.
type sweepRead struct {
	at    time.Time // when the reads were sent: silences are measured to it
	marks map[string]*redis.StringCmd
	metas map[string]*redis.SliceCmd
}

// sweepBatch bounds the commands of one pipeline of a sweep's reads.
const sweepBatch = 500

func (e *Engine) readForSweep(ctx context.Context, marks, streaming []string) *sweepRead {
	read := &sweepRead{at: time.Now(), marks: make(map[string]*redis.StringCmd, len(marks)),
		metas: make(map[string]*redis.SliceCmd, len(streaming))}
	pipe := e.d.Redis.Pipeline()
	flush := func(force bool) {
		if n := pipe.Len(); n > 0 && (force || n >= sweepBatch) {
			// Errors stay on their commands: one conversation's failed
			// read (a cluster node down) fails only its own sweep.
			_, _ = pipe.Exec(ctx)
		}
	}
	for _, k := range marks {
		if read.marks[k] == nil {
			read.marks[k] = pipe.Get(ctx, k)
			flush(false)
		}
	}
	for _, id := range streaming {
		read.metas[id] = pipe.HMGet(ctx, e.d.Keys.StreamMeta(id), "dispatched", "last", "first")
		flush(false)
	}
	flush(true)
	return read
}

// active is the reply id a mark named when read ("" for none).
func (r *sweepRead) active(mark string) (string, error) {
	cmd := r.marks[mark]
	if cmd == nil {
		return "", fmt.Errorf("sweep: mark %s not read", mark)
	}
	v, err := cmd.Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return v, err
}

// silence is the end a streaming reply is due for its agent's silence as of
// read.at, or nil.
func (e *Engine) silence(read *sweepRead, replyID string) (*End, error) {
	cmd := read.metas[replyID]
	if cmd == nil {
		return nil, fmt.Errorf("sweep: reply %s not read", replyID)
	}
	meta, err := cmd.Result()
	if err != nil {
		return nil, err
	}
	ms := func(v any) time.Time {
		s, _ := v.(string)
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.UnixMilli(n)
	}
	now := read.at
	if first, _ := meta[2].(string); first == "1" {
		if now.Sub(ms(meta[1])) > e.d.IdleTimeout {
			return &End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout,
				Message: fmt.Sprintf("the agent sent nothing for %s", e.d.IdleTimeout), CancelReason: protocol.CancelTimeout}, nil
		}
		return nil, nil
	}
	// Before the first chunk an agent_status (which moves "last") buys at
	// least an idle timeout more: the agent said it is working.
	if meta[0] != nil && now.Sub(ms(meta[0])) > e.d.FirstChunkTimeout && now.Sub(ms(meta[1])) > e.d.IdleTimeout {
		return &End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout,
			Message: fmt.Sprintf("the agent did not start answering within %s", e.d.FirstChunkTimeout), CancelReason: protocol.CancelTimeout}, nil
	}
	return nil, nil
}

// forgetDeleted stops driving replies that are no longer open because they
// no longer exist (their conversation was deleted): the agent is told to stop
// and later chunks are dropped. Replies settled elsewhere are left to the
// heartbeat, which drops them when their active mark moves on.
func (e *Engine) forgetDeleted(ctx context.Context, open []store.OpenReply) {
	isOpen := make(map[string]bool, len(open))
	for _, r := range open {
		isOpen[r.ID] = true
	}
	e.mu.Lock()
	var gone []string
	for id := range e.driving {
		if !isOpen[id] {
			gone = append(gone, id)
		}
	}
	e.mu.Unlock()
	for _, id := range gone {
		e.mu.Lock()
		conv := e.driving[id]
		e.mu.Unlock()
		e.dropDeleted(ctx, id, conv)
	}
}

// dropDeleted stops a reply of this instance that no longer exists: its
// buffer is closed (later chunks are dropped), its conversation's active mark
// released and the agent told to stop. Nothing is announced: there is no
// conversation left to announce it in.
func (e *Engine) dropDeleted(ctx context.Context, id, conv string) {
	if _, err := e.d.DB.Message(ctx, id); !errors.Is(err, store.ErrNotFound) {
		return
	}
	if !e.forget(id) {
		return // dropped already (the sweeper and a notice both found it)
	}
	agentID, _ := e.d.Redis.HGet(ctx, e.d.Keys.StreamMeta(id), "agent").Result()
	_ = endScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Stream(id), e.d.Keys.StreamMeta(id)}, int(kv.StreamTTL/time.Second)).Err()
	e.release(ctx, conv, id)
	if agentID != "" {
		if b, err := protocol.Encode(&protocol.TaskCancel{TaskID: id, Reason: protocol.CancelConversationDeleted}); err == nil {
			_, _ = e.d.Hub.Publish(ctx, e.d.Keys.AgentChannel(agentID), b)
		}
	}
}
