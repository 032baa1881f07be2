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
//   - A conversation with pending replies and no active one has a stalled
//     queue (an instance died between two steps): missing ids are put back
//     in seq order and the head is started.
func (e *Engine) Sweep(ctx context.Context) error {
	open, err := e.d.DB.OpenReplies(ctx, e.d.Keys.Prefix)
	if err != nil {
		return err
	}
	byConv := map[string][]store.OpenReply{}
	var order []string
	for _, r := range open {
		if _, ok := byConv[r.ConversationID]; !ok {
			order = append(order, r.ConversationID)
		}
		byConv[r.ConversationID] = append(byConv[r.ConversationID], r)
	}
	e.forgetDeleted(ctx, open)
	var errs []error
	if err := e.sweepInputs(ctx); err != nil {
		errs = append(errs, fmt.Errorf("input requests: %w", err))
	}
	if err := e.sweepToolCalls(ctx); err != nil {
		errs = append(errs, fmt.Errorf("tool calls: %w", err))
	}
	for _, conv := range order {
		if err := e.sweepConversation(ctx, conv, byConv[conv]); err != nil {
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

func (e *Engine) sweepConversation(ctx context.Context, conv string, replies []store.OpenReply) error {
	active, err := e.d.Redis.Get(ctx, e.d.Keys.ConvActive(conv)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
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
		if err := e.checkSilence(ctx, r.ID, func(end End) { e.Settle(ctx, r.ID, end) }); err != nil {
			return err
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

func (e *Engine) checkSilence(ctx context.Context, replyID string, settle func(End)) error {
	meta, err := e.d.Redis.HMGet(ctx, e.d.Keys.StreamMeta(replyID), "dispatched", "last", "first").Result()
	if err != nil {
		return err
	}
	ms := func(v any) time.Time {
		s, _ := v.(string)
		n, _ := strconv.ParseInt(s, 10, 64)
		return time.UnixMilli(n)
	}
	now := time.Now()
	if first, _ := meta[2].(string); first == "1" {
		if now.Sub(ms(meta[1])) > e.d.IdleTimeout {
			settle(End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout,
				Message: fmt.Sprintf("the agent sent nothing for %s", e.d.IdleTimeout), CancelReason: protocol.CancelTimeout})
		}
		return nil
	}
	// Before the first chunk an agent_status (which moves "last") buys at
	// least an idle timeout more: the agent said it is working.
	if meta[0] != nil && now.Sub(ms(meta[0])) > e.d.FirstChunkTimeout && now.Sub(ms(meta[1])) > e.d.IdleTimeout {
		settle(End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout,
			Message: fmt.Sprintf("the agent did not start answering within %s", e.d.FirstChunkTimeout), CancelReason: protocol.CancelTimeout})
	}
	return nil
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
