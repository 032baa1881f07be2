package stream

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/redis/go-redis/v9"
)

// ActiveStreams returns the user's replies in flight with their text so far.
// The caller's socket is subscribed before this runs, so every later chunk
// reaches it live: each chunk is in the text returned, live, or both.
func (e *Engine) ActiveStreams(ctx context.Context, userID string) ([]protocol.ActiveStream, error) {
	replies, err := e.d.DB.UserStreamingReplies(ctx, e.d.Keys.Prefix, userID)
	if err != nil {
		return nil, err
	}
	// A chunk an agent socket here has given to this instance's sockets
	// but not yet appended would be neither in the text read below nor
	// live for a socket that subscribed after it was given (this
	// instance's sockets skip their published copies): wait for it.
	for _, r := range replies {
		e.flushBefore(r.ID)
	}
	// One round trip for every reply: its text and its latest status.
	pipe := e.d.Redis.Pipeline()
	texts := make([]*redis.StringCmd, len(replies))
	states := make([]*redis.SliceCmd, len(replies))
	for i, r := range replies {
		texts[i] = pipe.Get(ctx, e.d.Keys.Stream(r.ID))
		states[i] = pipe.HMGet(ctx, e.d.Keys.StreamMeta(r.ID), "state", "label")
	}
	if len(replies) > 0 {
		_, _ = pipe.Exec(ctx) // errors are read per command
	}
	out := []protocol.ActiveStream{}
	for i, r := range replies {
		text, err := texts[i].Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
		st, err := states[i].Result()
		if err != nil {
			return nil, err
		}
		out = append(out, protocol.ActiveStream{MessageID: r.ID, ConversationID: r.ConversationID,
			AgentID: r.AgentID, Content: text, Offset: int64(len(text)), Status: replyStatus(st)})
	}
	return out, nil
}

// TakePending removes and returns the user's pending events, oldest first,
// and whether older ones were dropped.
func (e *Engine) TakePending(ctx context.Context, userID string) ([]json.RawMessage, bool, error) {
	res, err := takePendingScript.Run(ctx, e.d.Redis, []string{e.d.Keys.Pending(userID), e.d.Keys.PendingDropped(userID)}).Slice()
	if err != nil {
		return nil, false, err
	}
	items, _ := res[0].([]any)
	out := make([]json.RawMessage, 0, len(items))
	for i := len(items) - 1; i >= 0; i-- {
		if s, ok := items[i].(string); ok {
			out = append(out, json.RawMessage(s))
		}
	}
	dropped, _ := res[1].(int64)
	return out, dropped == 1, nil
}
