package client

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

// channelSend answers channel_send (PROTOCOL.md section 18) as POST
// /api/channels/{id}/messages answers a send: the user's send limit first
// (the counter send_message and the REST route count against), then the
// one store path (store.SendChannelMessage: membership, seq, idempotency by
// clientMessageId, attachments, mentions); the frame decoder has checked
// what the REST route's body checks. A new message goes to the channel's
// subscribers as channel_message_new and to the members it mentions as a
// push.
func (ss *session) channelSend(ctx context.Context, f *protocol.ChannelSend) {
	d := ss.s.d
	ref := f.ClientMessageID
	if !ss.allowSend(ctx, ref) {
		return
	}
	if ss.revoked.Load() {
		return // the socket is closing with 4001
	}
	s, err := d.DB.SendChannelMessage(ctx, store.NewChannelMessage{UserID: ss.user.ID, ChannelID: f.ChannelID,
		Content: f.Content, ClientMessageID: f.ClientMessageID, Attachments: f.Attachments,
		Deployment: d.Keys.Prefix}) // replies of the agents it @mentions run on this deployment
	var ae *ari.Error
	switch {
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "no such channel", ref)
		return
	case errors.Is(err, store.ErrNotMember):
		ss.fail(protocol.CodeForbidden, "join the community first", ref)
		return
	case errors.Is(err, store.ErrBanned):
		ss.fail(protocol.CodeForbidden, "you are banned from this community", ref)
		return
	case errors.Is(err, store.ErrClientIDInUse):
		ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeClientIDInUse, Field: "clientMessageId", Ref: ref,
			Message: "clientMessageId: already used for one of your messages in another channel; nothing was stored, send it with a new id"})
		return
	case errors.As(err, &ae) && ae.Code == ari.CodeNotFound:
		ss.fail(protocol.CodeNotFound, "attachment not found", ref)
		return
	case err != nil:
		ss.internal(err, ref)
		return
	}
	if d.Files != nil && len(s.Message.Attachments) > 0 {
		if err := storage.FreshURLs(ctx, d.Files, s.Message.Attachments); err != nil {
			d.Log.Warn("relay channel send: attachment links", "err", err)
		}
	}
	ss.c.SendFrame(&protocol.ChannelMessageAck{ClientMessageID: ref, Message: protocol.ChannelMessage(s.Message)})
	if !s.Created {
		return // a retry: told and pushed the first time
	}
	ev, err := events.NewForChannel(events.ChannelMessageNew, f.ChannelID, struct {
		Message protocol.ChannelMessage `json:"message"`
	}{protocol.ChannelMessage(s.Message)})
	if err == nil && d.Events != nil {
		err = d.Events.ToChannel(context.WithoutCancel(ctx), ev)
	}
	if err != nil {
		// Stored: subscribers find it in the channel's history.
		d.Log.Warn("relay channel send: publishing", "channel", f.ChannelID, "err", err)
	}
	if len(s.Replies) > 0 {
		// The same hand-off as the REST route's: queued in the channel's
		// order, and whichever instance takes the job starts the head.
		ids := make([]string, len(s.Replies))
		for i, rp := range s.Replies {
			ids[i] = rp.ID
		}
		jobs := relayjob.Client{Redis: d.Redis, Keys: d.Keys}
		if err := jobs.QueueChannelReplies(context.WithoutCancel(ctx), f.ChannelID, ids); err != nil {
			d.Log.Warn("relay channel send: queueing replies", "channel", f.ChannelID, "err", err)
		}
	}
	if d.Push != nil && len(s.Mentioned) > 0 {
		d.Push.ChannelMention(pushtrigger.ChannelMention{ChannelID: f.ChannelID, MessageID: s.Message.ID,
			SenderName: ss.user.Name, Text: s.Message.Content, UserIDs: s.Mentioned})
	}
}
