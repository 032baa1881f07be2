package client

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
)

// regenerate stores a new version of an agent's answer to the
// conversation's latest message from a person and puts it on its way like a
// send's reply: under the conversation's turn policy, through its queue, one
// open regenerate per conversation (PROTOCOL.md section 10).
func (ss *session) regenerate(ctx context.Context, f *protocol.Regenerate) {
	d := ss.s.d
	ref := f.MessageID
	// A regenerate costs the agent as much as a send: it counts against
	// the same limit, first.
	if !ss.allowSend(ctx, ref) {
		return
	}
	if _, err := d.DB.MemberRole(ctx, f.ConversationID, ss.user.ID); errors.Is(err, store.ErrNotFound) {
		ss.fail(protocol.CodeNotFound, "message not found", ref)
		return
	} else if err != nil {
		ss.internal(err, ref)
		return
	}
	policy, err := d.DB.TurnPolicy(ctx, f.ConversationID)
	if err != nil {
		ss.internal(err, ref)
		return
	}
	if busy, err := d.Engine.Busy(ctx, f.ConversationID); err != nil {
		ss.internal(err, ref)
		return
	} else if busy {
		ss.fail(protocol.CodeConversationBusy, "too many replies are waiting in this conversation; try again later", ref)
		return
	}
	if ss.revoked.Load() {
		return // the socket is closing with 4001
	}
	hold := ""
	if policy == ari.TurnReject {
		var ok bool
		if hold, ok, err = d.Engine.Hold(ctx, f.ConversationID); err != nil {
			ss.internal(err, ref)
			return
		} else if !ok {
			ss.fail(protocol.CodeConversationBusy, "a reply is being written or waiting in this conversation, and it takes no regenerate meanwhile (turn policy reject); nothing was stored", ref)
			return
		}
	}
	in := store.NewRegenerate{UserID: ss.user.ID, ConversationID: f.ConversationID, MessageID: f.MessageID,
		AgentID: f.AgentID, Deployment: d.Keys.Prefix, SessionID: ss.user.SessionID}
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
		ss.c.Close(protocol.CloseUnauthorized)
		return
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "message not found", ref)
		return
	case errors.As(err, &refused):
		ss.fail(protocol.CodeForbidden, refused.Reason, ref)
		return
	case errors.As(err, &open):
		ss.fail(protocol.CodeConversationBusy, "an answer in this conversation is already being written again; one regenerate at a time (cancel it, or wait for its stream_end); nothing was stored", ref)
		return
	case err != nil:
		ss.internal(err, ref)
		return
	}
	r := res.Reply
	ss.dispatch(ctx, f.ConversationID, policy, hold, []string{r.ID}, func(positions []int) {
		ack := &protocol.RegenerateAck{ConversationID: f.ConversationID, MessageID: f.MessageID, ReplyToID: *r.ReplyToID,
			Reply: protocol.AckReply{MessageID: r.ID, AgentID: *r.SenderAgentID}, Version: r.Version, PreviousID: res.Previous.ID}
		if len(positions) > 0 && positions[0] > 0 {
			ack.Reply.Position, ack.Queued = positions[0], true
		}
		ss.c.SendFrame(ack)
	})
}
