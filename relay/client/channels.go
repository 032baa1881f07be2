package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
)

// Community channels (PROTOCOL.md section 18). A socket subscribes to the
// channels it shows; each is one handler on the channel's topic
// (kv.Keys.ChannelTopic), so a message costs one publish whatever the
// community's size, and reaches only the sockets looking at the channel.
//
// A subscription stops delivering at once when the channel's topic says the
// user left the community (left, kicked, banned: channel_member_removed) or
// the channel was deleted: those notices travel on the same topic as the
// messages, so nothing published after them reaches the socket. The topic's
// Redis subscription itself is dropped later, on the socket's own reader
// (handlers run on the hub's goroutine and must not do I/O).

// channelSub is one subscribed channel of a socket.
type channelSub struct {
	community string
	// live: the socket gets the channel's events. False while the
	// subscription is being checked, and after it ended by a notice (the
	// hub subscription is then dropped by the reader, dropEnded).
	live  bool
	ended bool
	// endReason: a notice ended access while the subscription was being
	// checked (channel_unsubscribed's reason).
	endReason string
}

var (
	memberRemovedType  = []byte(`"type":"` + string(events.ChannelMemberRemoved) + `"`)
	channelDeletedType = []byte(`"type":"` + string(events.ChannelDeleted) + `"`)
)

// subscribeChannel answers channel_subscribe: the caller must be a member of
// the channel's community and not banned (as for its REST routes). The
// Redis subscription is confirmed before the channel's state is read, so
// every message up to channel_subscribed's lastSeq is in history and every
// later one arrives live.
func (ss *session) subscribeChannel(ctx context.Context, channelID string) {
	ss.dropEnded(ctx)
	ss.mu.Lock()
	if ss.channels == nil {
		ss.channels = map[string]*channelSub{}
	}
	sub := ss.channels[channelID]
	if sub == nil && ss.s.d.MaxChannels > 0 && len(ss.channels) >= ss.s.d.MaxChannels {
		ss.mu.Unlock()
		ss.fail(protocol.CodeTooManyChannels, "this socket follows the most channels it may; unsubscribe from one first", channelID)
		return
	}
	fresh := sub == nil
	if fresh {
		sub = &channelSub{}
		ss.channels[channelID] = sub
	}
	ss.mu.Unlock()
	topic := ss.s.d.Keys.ChannelTopic(channelID)
	if fresh {
		if err := ss.s.d.Hub.Subscribe(ctx, topic, ss.c.ID(), ss.onChannelTopic(channelID)); err != nil {
			ss.forgetChannel(channelID, sub)
			ss.internal(err, channelID)
			return
		}
	}
	ch, err := ss.s.d.DB.Channel(ctx, ss.user.ID, channelID)
	if err != nil {
		gone := errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrNotMember) || errors.Is(err, store.ErrBanned)
		ss.mu.Lock()
		keep := sub.live && !sub.ended && !gone // a live one outlives a failed re-check
		ss.mu.Unlock()
		if !keep {
			ss.s.d.Hub.Unsubscribe(context.WithoutCancel(ctx), topic, ss.c.ID())
			ss.forgetChannel(channelID, sub)
		}
		switch {
		case errors.Is(err, store.ErrNotFound):
			ss.fail(protocol.CodeNotFound, "no such channel", channelID)
		case errors.Is(err, store.ErrNotMember):
			ss.fail(protocol.CodeForbidden, "join the community first", channelID)
		case errors.Is(err, store.ErrBanned):
			ss.fail(protocol.CodeForbidden, "you are banned from this community", channelID)
		default:
			ss.internal(err, channelID)
		}
		return
	}
	ss.mu.Lock()
	sub.community = ch.CommunityID
	// A notice that ended access while this was checked (after the check
	// read the database) wins over the check.
	reason := sub.endReason
	sub.live, sub.ended = reason == "", reason != ""
	ss.mu.Unlock()
	if reason != "" {
		ss.c.SendFrame(&protocol.ChannelUnsubscribed{ChannelID: channelID, Reason: reason})
		return
	}
	// The agent reply streaming in the channel, read once the socket gets
	// the channel's frames: every chunk appended after this read reaches
	// it live (chunks are published after they are appended), so its
	// text so far plus the chunks from its offset on are the whole reply.
	stream, err := ss.s.d.Engine.ChannelStream(ctx, channelID)
	if err != nil {
		ss.s.d.Log.Warn("relay channel stream", "channel", channelID, "err", err)
	}
	ss.c.SendFrame(&protocol.ChannelSubscribed{ChannelID: channelID, CommunityID: ch.CommunityID,
		LastSeq: ch.LastSeq, LastReadSeq: ch.LastReadSeq, Stream: stream})
	ss.savePresence(ctx)
}

// cancelChannelReply applies cancel_stream to an agent's reply in a
// community channel (PROTOCOL.md section 18): its asker's or an admin's.
func (ss *session) cancelChannelReply(ctx context.Context, replyID string) {
	r, err := ss.s.d.DB.ChannelReplyToCancel(ctx, ss.user.ID, replyID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		ss.fail(protocol.CodeNotFound, "message not found", replyID)
	case errors.Is(err, store.ErrNotAllowed):
		ss.fail(protocol.CodeForbidden, "only the person the reply answers, or an admin of the community, may cancel it", replyID)
	case err != nil:
		ss.internal(err, replyID)
	default:
		ss.s.d.Engine.CancelChannel(ctx, r)
	}
}

// unsubscribeChannel answers channel_unsubscribe (also for a channel the
// socket does not follow: the answer is the same).
func (ss *session) unsubscribeChannel(ctx context.Context, channelID string) {
	ss.mu.Lock()
	sub := ss.channels[channelID]
	ss.mu.Unlock()
	if sub != nil {
		ss.s.d.Hub.Unsubscribe(context.WithoutCancel(ctx), ss.s.d.Keys.ChannelTopic(channelID), ss.c.ID())
		ss.forgetChannel(channelID, sub)
	}
	ss.c.SendFrame(&protocol.ChannelUnsubscribed{ChannelID: channelID, Reason: protocol.UnsubscribedRequested})
	ss.dropEnded(ctx)
	if sub != nil {
		ss.savePresence(ctx)
	}
}

// forgetChannel removes sub if it is still the channel's entry.
func (ss *session) forgetChannel(channelID string, sub *channelSub) {
	ss.mu.Lock()
	if ss.channels[channelID] == sub {
		delete(ss.channels, channelID)
	}
	ss.mu.Unlock()
}

// dropEnded drops the Redis subscriptions of channels whose subscription a
// notice ended (they no longer count against the socket's limit).
func (ss *session) dropEnded(ctx context.Context) {
	ss.mu.Lock()
	var ended []string
	for id, sub := range ss.channels {
		if sub.ended {
			ended = append(ended, id)
			delete(ss.channels, id)
		}
	}
	ss.mu.Unlock()
	for _, id := range ended {
		ss.s.d.Hub.Unsubscribe(context.WithoutCancel(ctx), ss.s.d.Keys.ChannelTopic(id), ss.c.ID())
	}
}

// leaveChannels drops every channel subscription (the socket closed).
func (ss *session) leaveChannels(ctx context.Context) {
	ss.mu.Lock()
	ids := make([]string, 0, len(ss.channels))
	for id := range ss.channels {
		ids = append(ids, id)
	}
	ss.channels = nil
	ss.mu.Unlock()
	for _, id := range ids {
		ss.s.d.Hub.Unsubscribe(ctx, ss.s.d.Keys.ChannelTopic(id), ss.c.ID())
	}
}

// onChannelTopic is the hub handler of one subscribed channel: events go to
// the socket while the subscription is live; the notices that end it end it
// (also one that arrives while the subscription is still being checked).
func (ss *session) onChannelTopic(channelID string) func([]byte) {
	return func(p []byte) {
		reason := ""
		switch {
		case p == nil:
			// Messages of the channel may have been lost: the client
			// subscribes again and fetches history past its last seq.
			reason = protocol.UnsubscribedInterrupted
		case bytes.Contains(p, memberRemovedType):
			// A JSON string escapes its quotes, so the type's key and
			// value appear unescaped only as the envelope's own.
			var n struct {
				Data struct {
					UserID string `json:"userId"`
				} `json:"data"`
			}
			if json.Unmarshal(p, &n) != nil || n.Data.UserID != ss.user.ID {
				return // someone else left; relays forward the notice to no one
			}
			reason = protocol.UnsubscribedRemoved
		case bytes.Contains(p, channelDeletedType):
			reason = protocol.UnsubscribedDeleted
		}
		ss.mu.Lock()
		sub := ss.channels[channelID]
		switch {
		case sub == nil || sub.ended:
			ss.mu.Unlock()
			return
		case !sub.live:
			// Still being checked: what it may not see is dropped, and an
			// end is kept for the check to find.
			if reason != "" && reason != protocol.UnsubscribedInterrupted {
				sub.endReason = reason
			}
			ss.mu.Unlock()
			return
		case reason == "":
			ss.mu.Unlock()
			ss.c.Send(p)
			return
		}
		sub.ended = true
		ss.mu.Unlock()
		ss.c.SendFrame(&protocol.ChannelUnsubscribed{ChannelID: channelID, Reason: reason})
	}
}
