package client

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/store"
)

// regenerate answers a client's regenerate frame (PROTOCOL.md section 10).
func (ss *session) regenerate(ctx context.Context, f *protocol.Regenerate) {
	ef, ended := ss.s.Regenerate(ctx, Requester{UserID: ss.user.ID, SessionID: ss.user.SessionID, Gone: ss.revoked.Load}, f,
		func(ack *protocol.RegenerateAck) { ss.c.SendFrame(ack) })
	switch {
	case ended:
		ss.c.Close(protocol.CloseUnauthorized)
	case ef != nil:
		ss.c.SendFrame(ef)
	}
}

// Requester is who asks for a regenerate: a client socket's user, or a
// function's signed-in caller (shared/relayjob).
type Requester struct {
	UserID, SessionID string
	// Gone, when set, reports that the asking socket is closing (its
	// session was revoked): the request then ends without an answer.
	Gone func() bool
}

// Regenerate stores a new version of an agent's answer to the
// conversation's latest message from a person and puts it on its way like a
// send's reply: under the conversation's turn policy, through its queue, one
// open regenerate per conversation (PROTOCOL.md section 10). acknowledge
// gets the ack once the new version is queued, before it starts. Otherwise
// the answer is an error frame whose ref is the messageId, or ended: the
// requester's session has ended and nothing was stored. Both nil and false:
// Gone said the requester left.
func (s *Sessions) Regenerate(ctx context.Context, who Requester, f *protocol.Regenerate, acknowledge func(*protocol.RegenerateAck)) (ef *protocol.ErrorFrame, ended bool) {
	d := s.d
	ref := f.MessageID
	fail := func(code, msg string) (*protocol.ErrorFrame, bool) {
		return &protocol.ErrorFrame{Code: code, Message: msg, Ref: ref}, false
	}
	internal := func(err error) (*protocol.ErrorFrame, bool) {
		d.Log.Error("relay regenerate", "user", who.UserID, "err", err)
		return fail(protocol.CodeInternal, "the relay failed; retrying is safe")
	}
	// A regenerate costs the agent as much as a send: it counts against
	// the same limit, first.
	if dec := d.Limiter.Allow(ctx, d.SendRule, who.UserID); !dec.Allowed {
		metrics.FrameLimited(protocol.TypeSendMessage)
		return &protocol.ErrorFrame{Code: protocol.CodeRateLimited, Ref: ref, RetryAfterMs: dec.RetryAfterMillis(),
			Message: "too many messages; nothing was stored; send again after retryAfterMs"}, false
	}
	if _, err := d.DB.MemberRole(ctx, f.ConversationID, who.UserID); errors.Is(err, store.ErrNotFound) {
		return fail(protocol.CodeNotFound, "message not found")
	} else if err != nil {
		return internal(err)
	}
	policy, err := d.DB.TurnPolicy(ctx, f.ConversationID)
	if err != nil {
		return internal(err)
	}
	if busy, err := d.Engine.Busy(ctx, f.ConversationID); err != nil {
		return internal(err)
	} else if busy {
		return fail(protocol.CodeConversationBusy, "too many replies are waiting in this conversation; try again later")
	}
	if who.Gone != nil && who.Gone() {
		return nil, false // the socket is closing with 4001
	}
	hold := ""
	if policy == ari.TurnReject {
		var ok bool
		if hold, ok, err = d.Engine.Hold(ctx, f.ConversationID); err != nil {
			return internal(err)
		} else if !ok {
			return fail(protocol.CodeConversationBusy, "a reply is being written or waiting in this conversation, and it takes no regenerate meanwhile (turn policy reject); nothing was stored")
		}
	}
	in := store.NewRegenerate{UserID: who.UserID, ConversationID: f.ConversationID, MessageID: f.MessageID,
		AgentID: f.AgentID, Deployment: d.Keys.Prefix, SessionID: who.SessionID}
	res, err := d.DB.Regenerate(ctx, in)
	var open *store.RegenerateOpen
	if errors.As(err, &open) && policy == ari.TurnInterrupt {
		// The open regenerate gives way to the new one (it stays as a
		// version, cancelled).
		if err = d.Engine.InterruptRegenerate(context.WithoutCancel(ctx), open.ReplyID); err == nil {
			res, err = d.DB.Regenerate(ctx, in)
		}
	}
	if err != nil {
		d.Engine.Unhold(context.WithoutCancel(ctx), f.ConversationID, hold)
	}
	var refused *store.RegenerateRefused
	switch {
	case errors.Is(err, store.ErrSessionEnded):
		return nil, true
	case errors.Is(err, store.ErrNotFound):
		return fail(protocol.CodeNotFound, "message not found")
	case errors.As(err, &refused):
		return fail(protocol.CodeForbidden, refused.Reason)
	case errors.As(err, &open):
		return fail(protocol.CodeConversationBusy, "an answer in this conversation is already being written again; one regenerate at a time (cancel it, or wait for its stream_end); nothing was stored")
	case err != nil:
		return internal(err)
	}
	r := res.Reply
	s.dispatch(ctx, f.ConversationID, policy, hold, []string{r.ID}, func(positions []int) {
		ack := &protocol.RegenerateAck{ConversationID: f.ConversationID, MessageID: f.MessageID, ReplyToID: *r.ReplyToID,
			Reply: protocol.AckReply{MessageID: r.ID, AgentID: *r.SenderAgentID}, Version: r.Version, PreviousID: res.Previous.ID}
		if len(positions) > 0 && positions[0] > 0 {
			ack.Reply.Position, ack.Queued = positions[0], true
		}
		acknowledge(ack)
	})
	return nil, false
}
