package protocol

import (
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Community channels (PROTOCOL.md section 18): a client socket subscribes to
// the channels it shows; what happens in them (events.Channel*) reaches it
// as event frames until it unsubscribes, leaves the community or the
// channel is deleted.

// Frame types of channel subscriptions.
const (
	TypeChannelSubscribe    = "channel_subscribe"    // client → relay
	TypeChannelUnsubscribe  = "channel_unsubscribe"  // client → relay
	TypeChannelSubscribed   = "channel_subscribed"   // relay → client
	TypeChannelUnsubscribed = "channel_unsubscribed" // relay → client
	TypeChannelSend         = "channel_send"         // client → relay
	TypeChannelMessageAck   = "channel_message_ack"  // relay → client
)

// CodeTooManyChannels refuses a channel_subscribe past the socket's limit.
const CodeTooManyChannels = "too_many_channels"

// Why a socket stopped getting a channel (ChannelUnsubscribed.Reason).
const (
	UnsubscribedRequested = "requested" // the client sent channel_unsubscribe
	UnsubscribedRemoved   = "removed"   // the user left, was kicked or banned
	UnsubscribedDeleted   = "deleted"   // the channel (or its community) was deleted
	// UnsubscribedInterrupted: the relay's subscription broke and messages
	// may have been lost; subscribe again and fetch history past lastSeq.
	UnsubscribedInterrupted = "interrupted"
)

// ChannelSubscribe asks for a channel's live traffic on this socket.
type ChannelSubscribe struct {
	ChannelID string `json:"channelId"`
}

// ChannelUnsubscribe stops it.
type ChannelUnsubscribe struct {
	ChannelID string `json:"channelId"`
}

// ChannelSubscribed confirms a subscription: everything published in the
// channel from now on reaches the socket. LastSeq and LastReadSeq say where
// the channel and the caller's read mark stood when it was taken, so the
// client fetches what it lacks up to LastSeq over REST without a gap.
type ChannelSubscribed struct {
	ChannelID   string `json:"channelId"`
	CommunityID string `json:"communityId"`
	LastSeq     int64  `json:"lastSeq"`
	LastReadSeq int64  `json:"lastReadSeq"`
	// Stream is the agent reply streaming in the channel, if any
	// (channelreplies.go): resume it from its Offset.
	Stream *ChannelStream `json:"stream,omitempty"`
}

// ChannelUnsubscribed says the socket no longer gets a channel, and why.
type ChannelUnsubscribed struct {
	ChannelID string `json:"channelId"`
	Reason    string `json:"reason"`
}

// ChannelSend posts a message to a community channel, as POST
// /api/channels/{id}/messages does (the same store path, limits and
// idempotency).
type ChannelSend struct {
	ChannelID       string   `json:"channelId"`
	Content         string   `json:"content"`
	ClientMessageID string   `json:"clientMessageId"`
	Attachments     []string `json:"attachments,omitempty"`
}

// ChannelMessageAck answers a ChannelSend with the stored message (the
// same message again for a retry with the same ClientMessageID), as the
// channel's history lists it.
type ChannelMessageAck struct {
	ClientMessageID string         `json:"clientMessageId"`
	Message         ChannelMessage `json:"message"`
}

// ChannelMessage is a channel message with its attachments (store's
// ListedChannelMessage, as REST answers it).
type ChannelMessage struct {
	ari.ChannelMessage
	Attachments []ari.Attachment `json:"attachments"`
}

func (*ChannelSend) FrameType() string         { return TypeChannelSend }
func (*ChannelMessageAck) FrameType() string   { return TypeChannelMessageAck }
func (*ChannelSubscribe) FrameType() string    { return TypeChannelSubscribe }
func (*ChannelUnsubscribe) FrameType() string  { return TypeChannelUnsubscribe }
func (*ChannelSubscribed) FrameType() string   { return TypeChannelSubscribed }
func (*ChannelUnsubscribed) FrameType() string { return TypeChannelUnsubscribed }

func init() {
	clientDecoders[TypeChannelSubscribe] = func(o *object) Frame {
		return &ChannelSubscribe{ChannelID: o.refID("channelId")}
	}
	clientDecoders[TypeChannelUnsubscribe] = func(o *object) Frame {
		return &ChannelUnsubscribe{ChannelID: o.refID("channelId")}
	}
	clientDecoders[TypeChannelSend] = decodeChannelSend
	relayFrames[TypeChannelMessageAck] = func() Frame { return &ChannelMessageAck{} }
	relayFrames[TypeChannelSubscribed] = func() Frame { return &ChannelSubscribed{} }
	relayFrames[TypeChannelUnsubscribed] = func() Frame { return &ChannelUnsubscribed{} }
}

// decodeChannelSend checks a channel_send as decodeSendMessage checks a
// send_message (the same bounds as the REST route).
func decodeChannelSend(o *object) Frame {
	f := &ChannelSend{}
	f.ClientMessageID = o.refID("clientMessageId")
	f.ChannelID = o.id("channelId", true)
	f.Content = o.str("content", true, MaxContentBytes)
	f.Attachments = o.attachments()
	if o.err == nil && strings.TrimSpace(f.Content) == "" && len(f.Attachments) == 0 {
		o.fail("content", "is empty and there are no attachments")
	}
	return f
}
