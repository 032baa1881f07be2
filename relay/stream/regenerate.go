package stream

import (
	"context"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
)

// InterruptRegenerate ends a conversation's open regenerate so that a new
// one can take its place (turn policy interrupt; one regenerate at a time):
// a waiting one leaves the queue and ends cancelled, a streaming one ends
// cancelled with its text so far and its agent gets task_cancel
// (interrupted). Either stays as a version of the answer.
func (e *Engine) InterruptRegenerate(ctx context.Context, replyID string) error {
	reply, err := e.d.DB.Message(ctx, replyID)
	if err != nil {
		return err
	}
	switch reply.Status {
	case ari.StatusPending:
		if err := e.d.Redis.LRem(ctx, e.d.Keys.ConvQueue(reply.ConversationID), 0, reply.ID).Err(); err != nil {
			return err
		}
		e.Settle(ctx, reply.ID, End{Status: ari.StatusCancelled})
	case ari.StatusStreaming, ari.StatusWaitingInput:
		e.flushBefore(reply.ID)
		e.Settle(ctx, reply.ID, End{Status: ari.StatusCancelled, CancelReason: protocol.CancelInterrupted})
	}
	return nil
}
