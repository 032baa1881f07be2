package communities

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
)

// What changes in a channel reaches the sockets subscribed to it
// (channel_subscribe on the relay) as one publish on the channel's topic,
// whatever the community's size (events.Publisher.ToChannel). The change is
// stored before it is published; a publish that fails is logged, not
// answered with an error: subscribers find the change in the channel's
// history.

// NewMessage is the data of channel_message_new: the message as the
// channel's history shows it.
type NewMessage struct {
	Message store.ListedChannelMessage `json:"message"`
}

// MessageRef is the data of channel_message_deleted.
type MessageRef struct {
	MessageID string `json:"messageId"`
}

// ReactionData is the data of channel_reaction_added and _removed.
type ReactionData struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
}

// MemberRef is the data of channel_member_removed (relays only).
type MemberRef struct {
	UserID string `json:"userId"`
}

// tell publishes one channel event.
func (h *handler) tell(r *http.Request, t events.Type, channelID string, data any) {
	if h.Events == nil {
		return
	}
	ev, err := events.NewForChannel(t, channelID, data)
	if err == nil {
		err = h.Events.ToChannel(r.Context(), ev)
	}
	if err != nil {
		slog.WarnContext(r.Context(), "publishing a channel event", "type", t, "channel", channelID, "err", err)
	}
}

// communityChannels lists the ids of a community's channels as the caller
// sees them (none when the caller may not), for events about all of them.
func (h *handler) communityChannels(ctx context.Context, callerID, communityID string) []string {
	if h.Events == nil {
		return nil
	}
	list, err := h.DB.Channels(ctx, callerID, communityID)
	if err != nil {
		return nil
	}
	ids := make([]string, len(list))
	for i, c := range list {
		ids[i] = c.ID
	}
	return ids
}

// tellAll publishes one event on each channel.
func (h *handler) tellAll(r *http.Request, t events.Type, channelIDs []string, data any) {
	for _, id := range channelIDs {
		h.tell(r, t, id, data)
	}
}

// queueReplies hands the replies a message started (agents it @mentioned)
// to the relay, after channel_message_new went out, so subscribers see the
// message before its replies start. A failure is logged: the relay's
// sweeper queues stored replies it finds missing.
func (h *handler) queueReplies(r *http.Request, channelID string, replies []ari.ChannelReply) {
	if h.Jobs == nil || len(replies) == 0 {
		return
	}
	ids := make([]string, len(replies))
	for i, rp := range replies {
		ids[i] = rp.ID
	}
	if err := h.Jobs.QueueChannelReplies(r.Context(), channelID, ids); err != nil {
		slog.WarnContext(r.Context(), "queueing channel replies", "channel", channelID, "err", err)
	}
}
