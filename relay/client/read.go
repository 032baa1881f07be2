package client

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
)

// markRead moves the caller's read mark forward and tells their other
// sockets.
func (ss *session) markRead(ctx context.Context, f *protocol.MarkRead) {
	stored, moved, err := ss.s.d.DB.MarkRead(ctx, ss.user.ID, f.ConversationID, f.Seq)
	if errors.Is(err, store.ErrNotFound) {
		ss.fail(protocol.CodeNotFound, "conversation not found", f.ConversationID)
		return
	}
	if err != nil {
		ss.internal(err, f.ConversationID)
		return
	}
	if !moved {
		return // at or behind the stored mark: nothing changed, nothing to tell
	}
	ev, err := events.New(events.ReadUpdated, f.ConversationID, protocol.ReadUpdatedData{UserID: ss.user.ID, Seq: stored})
	if err != nil {
		return
	}
	raw, err := encodeEvent(ev)
	if err != nil {
		return
	}
	// Only the user's other sockets, live: the read mark itself is in
	// Postgres, which sync reports, so nothing goes to pending.
	if _, err := ss.s.d.Hub.ToUsers(ctx, ss.s.d.Keys, []string{ss.user.ID}, raw, ss.name); err != nil {
		ss.s.d.Log.Warn("relay read_updated", "err", err)
	}
}
