package agent

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/agentpost"
)

// post handles agent_message: a message the agent starts in a conversation
// it is a member of, answered with agent_message_ack once it is stored (a
// retry with the same clientMessageId gets the same answer). It starts no
// reply (shared/agentpost says why).
func (ss *session) post(ctx context.Context, f *protocol.AgentMessage) {
	d := ss.s.d
	ref := f.ClientMessageID
	out, err := d.Poster.Post(ctx, agentpost.Agent{ID: ss.agent.ID, Name: ss.agent.Name},
		agentpost.Post{ConversationID: f.ConversationID, Content: f.Content, ClientMessageID: f.ClientMessageID})
	if rl, ok := agentpost.IsRateLimited(err); ok {
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeRateLimited, Ref: ref, RetryAfterMs: rl.Decision.RetryAfterMillis(),
			Message: "too many messages from this agent; nothing was stored; send again after retryAfterMs"})
		return
	}
	switch {
	case errors.Is(err, agentpost.ErrNotFound):
		ss.sendError(protocol.CodeNotFound, "conversation not found", ref)
	case errors.Is(err, agentpost.ErrClientIDInUse):
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeClientIDInUse, Field: "clientMessageId", Ref: ref,
			Message: "clientMessageId: already used for one of this agent's messages in another conversation; nothing was stored, send it with a new id"})
	case err != nil:
		d.Log.Error("relay agent message", "agent", ss.agent.ID, "err", err)
		ss.sendError(protocol.CodeInternal, "the relay failed; retrying with the same clientMessageId is safe", ref)
	default:
		ss.c.SendFrame(&protocol.AgentMessageAck{ClientMessageID: ref, MessageID: out.Message.ID, Seq: out.Message.Seq})
	}
}
