package pushtrigger

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
)

// ChannelMention is a community channel message just stored that
// @mentioned UserIDs (store.ChannelSend.Mentioned).
type ChannelMention struct {
	ChannelID, MessageID string
	SenderName, Text     string
	UserIDs              []string
}

// OnChannelMention notifies the members a channel message @mentioned (kind
// channel_mention, their Mentions switch): nobody else is told of channel
// traffic. A member is left out who muted the channel or its community, or
// who is looking at it: one of their sockets subscribes to the channel and
// its client says it is on screen (presence.WatchingChannelMany). Quiet
// hours and the dedup window (per user and channel) apply as for
// conversations.
func (t *Trigger) OnChannelMention(ctx context.Context, m ChannelMention) []Decision {
	if t.Sender == nil || len(m.UserIDs) == 0 {
		return nil
	}
	ctx, cancel := t.bounded(ctx)
	defer cancel()
	log := t.log().With("channel_id", m.ChannelID, "message_id", m.MessageID)

	ch, targets, err := t.DB.ChannelMentionTargets(ctx, m.ChannelID, m.UserIDs)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			log.WarnContext(ctx, "push: loading mentioned members", "err", err)
		}
		return nil
	}
	if len(targets) == 0 {
		return nil
	}
	watching, err := presence.WatchingChannelMany(ctx, t.Redis, t.Keys, userIDs(targets), m.ChannelID)
	if err != nil {
		log.WarnContext(ctx, "push: reading presence", "err", err)
		watching = map[string]bool{}
	}
	title := "#" + ch.Name + " (" + ch.CommunityName + ")"
	return t.each(ctx, log, targets, watching, func(store.NotifyTarget) notify.Message {
		return notify.Message{Kind: notify.KindChannelMention, MessageID: m.MessageID, ChannelID: m.ChannelID,
			CommunityID: ch.CommunityID, ConversationTitle: title, SenderName: m.SenderName, Text: m.Text}
	})
}
