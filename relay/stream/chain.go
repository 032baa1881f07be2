package stream

import (
	"context"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
)

// continueChain gives the agents a finished reply mentions their replies
// (store.ContinueChain decides, under the conversation's lock, within the
// chain's budget) and queues them behind whatever waits in the
// conversation; when the budget stopped the chain, members get chain_limit.
// It runs once per reply, on the instance whose Settle saved its end,
// before the reply's active mark is released, so the new replies join the
// queue before it moves on. A crash between the save and the queue leaves
// pending replies the sweeper queues again.
func (e *Engine) continueChain(ctx context.Context, m ari.Message) {
	step, err := e.d.DB.ContinueChain(ctx, m, e.d.Keys.Prefix)
	if err != nil {
		e.d.Log.Error("relay continue chain", "reply", m.ID, "err", err)
		return
	}
	if len(step.Replies) > 0 {
		ids := make([]string, len(step.Replies))
		for i, r := range step.Replies {
			ids[i] = r.ID
		}
		if _, _, err := e.Enqueue(ctx, m.ConversationID, ids); err != nil {
			// Stored but not queued: the sweeper re-queues pending replies.
			e.d.Log.Error("relay enqueue chain", "reply", m.ID, "err", err)
		}
	}
	if step.Limited {
		e.chainLimit(ctx, m, step.Hops)
	}
}

// chainLimit tells the members that reply's mentions were not followed.
func (e *Engine) chainLimit(ctx context.Context, reply ari.Message, hops int) {
	users, err := e.d.DB.MemberUserIDs(ctx, reply.ConversationID)
	if err != nil {
		e.d.Log.Error("relay chain_limit", "reply", reply.ID, "err", err)
		return
	}
	ev, err := events.New(events.ChainLimit, reply.ConversationID,
		protocol.ChainLimitData{ConversationID: reply.ConversationID, MessageID: reply.ID, Hops: hops})
	if err != nil {
		return
	}
	raw, err := encodeEvent(ev)
	if err == nil {
		err = e.d.Hub.ToUsersOrQueue(ctx, e.d.Keys, users, raw, "", raw)
	}
	if err != nil {
		e.d.Log.Error("relay chain_limit", "reply", reply.ID, "err", err)
	}
}

// taskChain is the chain object of a reply an agent's mention caused: its
// message (in) is an agent's. Nil for a reply to a person.
func (e *Engine) taskChain(ctx context.Context, reply ari.Message, in store.TaskInput) (*protocol.TaskChain, error) {
	if in.SenderRole != ari.RoleAgent {
		return nil, nil
	}
	c, err := e.d.DB.ReplyChainOf(ctx, reply.ID)
	if err != nil || c.Hop == 0 {
		return nil, err
	}
	return &protocol.TaskChain{RootMessageID: c.Root, Hop: c.Hop, MaxHops: c.Budget,
		MentionedBy: protocol.ChainAgent{ID: in.SenderID, Name: in.SenderName, Handle: in.SenderHandle}}, nil
}
