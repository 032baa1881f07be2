package stream

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
)

// Questions and approvals (PROTOCOL.md section 9): a reply whose agent asked
// its people something waits (waiting_input in Postgres) with no silence
// timeout and keeps the conversation's active mark (the sweeper holds it for
// it, whoever drives the reply or nobody does) until the answer, or the
// expiry, has reached the agent; then it streams again from there.

// OpenInput opens an input request for a reply (the agent's own
// agent_input_request; an A2A task's input-required) and tells every member
// of the conversation (input_request) and Web Push. A zero TTL is the
// configured one. A retry (same request id, same reply) answers the stored
// request with created false and tells no one again. store's errors:
// ErrNotFound (the reply ended, or is not the agent's), ErrInputPending,
// ErrRequestIDInUse.
func (e *Engine) OpenInput(ctx context.Context, in store.NewInputRequest) (ari.InputRequest, bool, error) {
	if in.TTL <= 0 {
		in.TTL = e.d.InputTTL
	}
	r, created, err := e.d.DB.OpenInputRequest(ctx, in)
	if err != nil || !created {
		return r, created, err
	}
	if r.ChannelID != "" {
		// One publish on the channel's topic, whatever its size; no push
		// (a channel pushes only mentions, PROTOCOL.md section 18).
		if err := e.toChannel(ctx, r.ChannelID, protocol.ChannelInputRequestOf(r)); err != nil {
			e.d.Log.Error("relay announce channel input request", "request", r.ID, "err", err)
		}
		return r, true, nil
	}
	users, err := e.d.DB.MemberUserIDs(ctx, r.ConversationID)
	if err != nil {
		return r, true, err
	}
	frame, err := protocol.Encode(protocol.InputRequestOf(r))
	if err != nil {
		return r, true, err
	}
	if _, err := e.d.Hub.ToUsersHereFirst(ctx, e.d.Keys, e.d.InstanceID, users, frame); err != nil {
		e.d.Log.Error("relay announce input request", "request", r.ID, "err", err)
	}
	if e.d.Push != nil {
		e.d.Push.InputRequest(r) // never blocks
	}
	return r, true, nil
}

// InputDelivered is told that a request's answer (or expiry) has been given
// to the agent's socket here: the silence clock starts afresh, this instance
// drives the reply again, and the reply streams (waiting_input → streaming)
// once Postgres records the delivery. False: it was recorded already.
func (e *Engine) InputDelivered(ctx context.Context, r ari.InputRequest) (bool, error) {
	marked, err := e.ClaimInput(ctx, r)
	if err != nil {
		return false, err
	}
	e.DriveTask(r.ConversationID, r.ChannelID, r.MessageID)
	return marked, nil
}

// ClaimInput records that a settled request's answer (or expiry) is being
// handed to its agent, so the reply streams again (waiting_input →
// streaming) with its silence clock started afresh. True for exactly one
// caller, however many instances try at once: for an A2A task's request
// (which no socket receives) the claim decides which instance sends the
// answer back.
func (e *Engine) ClaimInput(ctx context.Context, r ari.InputRequest) (bool, error) {
	// Redis first: once Postgres says streaming, the sweeper times the
	// reply from the meta's clock, which must not be the one from before
	// the wait.
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	if err := resumeScript.Run(ctx, e.d.Redis, []string{e.d.Keys.StreamMeta(r.MessageID)}, now).Err(); err != nil {
		return false, err
	}
	return e.d.DB.MarkInputDelivered(ctx, r.ID)
}

// AnswerA2A hands a settled request of an A2A task to the transport, which
// sends the answer (or the expiry) back into the agent's task if this
// instance wins the claim. A socket agent's request is left alone.
func (e *Engine) AnswerA2A(ctx context.Context, r ari.InputRequest) {
	if r.A2ATaskID != "" && r.State != ari.InputOpen {
		e.d.Transport.Answer(ctx, e, r)
	}
}

// cancelQuestion tells the A2A task whose question a reply waited for that
// the reply has ended (cancelled, interrupted): the task would otherwise
// wait for an answer forever. task_cancel is a socket's; this is the A2A
// agent's. The store hands the request to one caller only.
func (e *Engine) cancelQuestion(ctx context.Context, replyID string) {
	r, err := e.d.DB.ClaimAbandonedA2A(ctx, replyID)
	if errors.Is(err, store.ErrNotFound) {
		return // none: the usual case
	}
	if err != nil {
		e.d.Log.Warn("relay a2a abandoned question", "reply", replyID, "err", err)
		return
	}
	e.d.Transport.CancelA2A(ctx, r)
}

// holdWaiting keeps a waiting reply's place while nobody drives it: its
// active mark (taken again if it lapsed, unless another reply holds it) and
// its buffer, whose TTL would otherwise end the text so far.
func (e *Engine) holdWaiting(ctx context.Context, r store.OpenReply) error {
	// Two scripts: the mark and the buffer have different hash tags.
	if err := holdMarkScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(r.ConversationID)},
		r.ID, e.d.ActiveTTL.Milliseconds()).Err(); err != nil {
		return err
	}
	return keepBufferScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Stream(r.ID), e.d.Keys.StreamMeta(r.ID)},
		int(kv.StreamTTL/time.Second)).Err()
}

// sweepInputs expires the requests whose deadline passed (each by exactly
// one instance), sends back what A2A tasks wait for, nudges the agents of settled requests that have not
// reached them (a lost notice, or an agent that has just come back), and
// ends the replies whose agent did not come back for the answer within the
// first-chunk timeout.
func (e *Engine) sweepInputs(ctx context.Context) error {
	expired, err := e.d.DB.ExpireInputRequests(ctx, e.d.Keys.Prefix)
	if err != nil {
		return err
	}
	for _, r := range expired {
		if err := inputs.Resolved(ctx, e.d.DB, e.events(), r); err != nil {
			e.d.Log.Error("relay announce input expiry", "request", r.ID, "err", err)
		}
	}
	// Answers for A2A tasks: whoever claims one sends it (an answer given
	// on a relay socket was tried at once, this is REST's way, and the
	// retry after a restart or a lost claim).
	unsent, err := e.d.DB.A2AUnsent(ctx, e.d.Keys.Prefix)
	if err != nil {
		return err
	}
	for _, r := range unsent {
		e.AnswerA2A(ctx, r)
	}
	// Tasks whose requests were deleted before their answer was sent (a
	// conversation deleted, an account erased): cancelled, each by one
	// instance.
	abandoned, err := e.d.DB.ClaimAbandonedA2ATasks(ctx, 50)
	if err != nil {
		return err
	}
	for _, r := range abandoned {
		e.d.Transport.CancelA2A(ctx, r)
	}
	stale, err := e.d.DB.StaleUndelivered(ctx, e.d.Keys.Prefix, nudgeAfter)
	if err != nil {
		return err
	}
	for _, r := range stale {
		if r.ResolvedAt != nil && time.Since(r.ResolvedAt.Time) > e.d.FirstChunkTimeout {
			e.Settle(ctx, r.MessageID, End{Status: ari.StatusError, Code: protocol.StreamErrAgentTimeout,
				Message: "the agent did not come back for the answer", CancelReason: protocol.CancelTimeout})
			continue
		}
		if r.AgentID == nil {
			continue
		}
		ev, err := events.New(events.InputResolved, r.ConversationID, inputs.ResolvedData{RequestID: r.ID,
			MessageID: r.MessageID, State: r.State})
		if err == nil {
			err = e.events().ToAgent(ctx, *r.AgentID, ev)
		}
		if err != nil {
			e.d.Log.Warn("relay nudge input delivery", "request", r.ID, "err", err)
		}
	}
	return nil
}

// nudgeAfter is how long a settled request may wait for its agent's socket
// before the sweeper tells the agent's channel again.
const nudgeAfter = 5 * time.Second

func (e *Engine) events() *events.Publisher { return events.NewPublisher(e.d.Redis, e.d.Keys) }
