package stream

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
)

// Turn policies (a conversation's turn_policy; PROTOCOL.md section 10) are
// applied around the queue: "queue" is Enqueue alone; "reject" takes the
// active mark with Hold before the send is stored, so of two sends into an
// idle conversation exactly one is stored and the other refused; "interrupt"
// replaces the queue with the new replies and ends the active one
// (Interrupt).

// holdPrefix starts the token a held active mark holds: never a reply id
// (those are UUIDs), so nothing mistakes it for a reply.
const holdPrefix = "hold:"

// Hold takes the conversation's active mark for a send about to be stored,
// when nothing is active or queued there. It returns the token to give to
// EnqueueHeld (or Unhold when the send is not stored), and false when the
// conversation is busy. A hold that is never given back expires with the
// active TTL.
func (e *Engine) Hold(ctx context.Context, conversationID string) (string, bool, error) {
	token := holdPrefix + rand.Text()
	n, err := holdScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(conversationID), e.d.Keys.ConvQueue(conversationID)},
		token, e.d.ActiveTTL.Milliseconds()).Int()
	if err != nil {
		return "", false, fmt.Errorf("stream: hold: %w", err)
	}
	return token, n == 1, nil
}

// Unhold gives back a hold whose send was not stored.
func (e *Engine) Unhold(ctx context.Context, conversationID, token string) {
	if token != "" {
		e.release(ctx, conversationID, token)
	}
}

// Interrupt puts new replies in place of the conversation's queue: the
// replies that waited end cancelled (empty, as a cancel_stream would end
// them), the active reply ends cancelled with its text so far and its agent
// gets task_cancel (interrupted), and the first new reply starts. It returns
// the reply the caller must Start ("" when it has started already, or
// starts when the active reply's end moves the queue on).
func (e *Engine) Interrupt(ctx context.Context, conversationID string, replyIDs []string) (string, error) {
	if len(replyIDs) == 0 {
		return "", nil
	}
	args := []any{e.d.ActiveTTL.Milliseconds()}
	for _, id := range replyIDs {
		args = append(args, id)
	}
	res, err := interruptScript.Run(ctx, e.d.Redis, []string{e.d.Keys.ConvActive(conversationID), e.d.Keys.ConvQueue(conversationID)}, args...).Slice()
	if err != nil || len(res) != 3 {
		return "", fmt.Errorf("stream: interrupt: %v", err)
	}
	start, _ := res[0].(string)
	active, _ := res[1].(string)
	dropped, _ := res[2].([]any)
	for _, d := range dropped {
		if id, ok := d.(string); ok {
			e.Settle(ctx, id, End{Status: ari.StatusCancelled})
		}
	}
	if active != "" && !strings.HasPrefix(active, holdPrefix) {
		// Its end releases the mark and moves the queue on: the first
		// new reply starts from there.
		e.flushBefore(active)
		e.Settle(ctx, active, End{Status: ari.StatusCancelled, CancelReason: protocol.CancelInterrupted})
	}
	return start, nil
}
