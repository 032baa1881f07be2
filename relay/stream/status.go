package stream

import (
	"context"
	"strconv"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
)

// Status applies an agent_status: the reply's latest status is kept in its
// meta (sync reports it) and every member's sockets get stream_status.
// ErrEnded: the reply is over (drop the frame silently).
func (e *Engine) Status(ctx context.Context, t *Task, state, label string) error {
	now := strconv.FormatInt(time.Now().UnixMilli(), 10)
	n, err := statusScript.Run(ctx, e.d.Redis, []string{e.d.Keys.StreamMeta(t.ID)}, state, label, now).Int()
	if err != nil {
		return err
	}
	if n == 0 {
		t.ended.Store(true)
		return ErrEnded
	}
	if t.ChannelID != "" {
		return e.channelStatus(ctx, t, state, label)
	}
	frame, err := protocol.Encode(&protocol.StreamStatus{MessageID: t.ID, ConversationID: t.ConversationID, State: state, Label: label})
	if err != nil {
		return err
	}
	_, err = e.d.Hub.ToUsersHereFirst(ctx, e.d.Keys, e.d.InstanceID, t.to.list(), frame)
	return err
}

// replyStatus reads the status kept by Status from HMGET state, label.
func replyStatus(v []any) *protocol.ReplyStatus {
	state, _ := v[0].(string)
	if state == "" {
		return nil
	}
	label, _ := v[1].(string)
	return &protocol.ReplyStatus{State: state, Label: label}
}
