package protocol

import (
	"encoding/json"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Frame is any frame of either socket. FrameType is the value of its "type" key.
type Frame interface {
	FrameType() string
}

// Frame types of the client socket, client → relay.
const (
	TypeSendMessage  = "send_message"
	TypeSync         = "sync"
	TypeCancelStream = "cancel_stream"
	TypeMarkRead     = "mark_read"
	TypeFocus        = "focus"
	TypePing         = "ping"
)

// Frame types of the client socket, relay → client (events are in events.go).
const (
	TypeMessageAck  = "message_ack"
	TypeStreamStart = "stream_start"
	TypeStreamChunk = "stream_chunk"
	TypeStreamEnd   = "stream_end"
	// TypeStreamStatus relays an agent_status to the reply's members.
	TypeStreamStatus = "stream_status"
	// TypeAgentPresence tells sockets focused on a conversation that one of
	// its agents went online or offline.
	TypeAgentPresence = "agent_presence"
	TypeSyncResult    = "sync_result"
	// TypeSyncNeeded tells a socket that frames meant for it may have been
	// lost (the relay's link to Redis broke and is back): sync again.
	TypeSyncNeeded = "sync_needed"
	TypeError      = "error"
	TypePong       = "pong"
)

// Reply statuses (shared/ari's); stream_end carries one of the last three.
const (
	StatusPending   = ari.StatusPending
	StatusStreaming = ari.StatusStreaming
	StatusComplete  = ari.StatusComplete
	StatusError     = ari.StatusError
	StatusCancelled = ari.StatusCancelled
)

// SendMessage posts a user message; retries reuse ClientMessageID.
type SendMessage struct {
	ConversationID  string   `json:"conversationId"`
	Content         string   `json:"content"`
	ClientMessageID string   `json:"clientMessageId"`
	Attachments     []string `json:"attachments,omitempty"`
}

// Sync asks for unread state, active replies and pending events. Cursors maps
// a conversationId to the highest seq the client holds.
type Sync struct {
	Cursors map[string]int64 `json:"cursors,omitempty"`
}

// CancelStream cancels an active or queued reply.
type CancelStream struct {
	MessageID string `json:"messageId"`
}

// MarkRead records that the user has read up to Seq.
type MarkRead struct {
	ConversationID string `json:"conversationId"`
	Seq            int64  `json:"seq"`
}

// Focus says which conversation is in the foreground (nil: none) and whether
// the client is visible at all.
type Focus struct {
	ConversationID *string `json:"conversationId"`
	Visible        bool    `json:"visible"`
}

// Ping asks for a Pong; valid on both sockets.
type Ping struct{}

// Pong answers Ping.
type Pong struct{}

// SyncNeeded asks the client to send sync: events or stream frames
// published for it may not have reached it.
type SyncNeeded struct{}

// MessageAck confirms a stored user message. Queued is true when a reply for
// it waits behind another; Position then counts the replies ahead of it plus
// one (1 = next). Replies lists every reply the message asked for, so a
// client can cancel one before its stream_start.
type MessageAck struct {
	ClientMessageID string      `json:"clientMessageId"`
	Message         ari.Message `json:"message"`
	Queued          bool        `json:"queued"`
	Position        int         `json:"position,omitempty"`
	Replies         []AckReply  `json:"replies,omitempty"`
}

// AckReply is one reply a message_ack announces: its id (the future
// stream_start's messageId), its agent, and while it waits in the queue its
// Position (1 = next to start; absent when it is starting or has started).
type AckReply struct {
	MessageID string `json:"messageId"`
	AgentID   string `json:"agentId"`
	Position  int    `json:"position,omitempty"`
}

// StreamStart announces that a reply started streaming.
type StreamStart struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	AgentID        string `json:"agentId"`
	Seq            int64  `json:"seq"`
	ReplyToID      string `json:"replyToId,omitempty"`
	// Version and PreviousID come with a regenerated reply (version 2 and
	// on): the reply is a new version of PreviousID, which it supersedes.
	Version    int    `json:"version,omitempty"`
	PreviousID string `json:"previousId,omitempty"`
	// ChainHop and ChainRootID come with a reply an agent's mention set off
	// (section 13): its hop (1 for the first agent-to-agent hop) and the
	// person's message that started its chain.
	ChainHop    int    `json:"chainHop,omitempty"`
	ChainRootID string `json:"chainRootId,omitempty"`
}

// StreamChunk carries Delta, whose first byte sits at byte Offset of the reply.
type StreamChunk struct {
	MessageID      string `json:"messageId"`
	ConversationID string `json:"conversationId"`
	Delta          string `json:"delta"`
	Offset         int64  `json:"offset"`
}

// StreamEnd is a reply's terminal state; Content is its final, saved text.
type StreamEnd struct {
	MessageID      string       `json:"messageId"`
	ConversationID string       `json:"conversationId"`
	Status         string       `json:"status"`
	Content        string       `json:"content"`
	Error          *StreamError `json:"error,omitempty"`
}

// StreamError says why a reply ended in status error.
type StreamError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StreamStatus is what the agent writing a reply says it is doing.
type StreamStatus struct {
	MessageID      string `json:"messageId"`
	ConversationID string `json:"conversationId"`
	State          string `json:"state"`
	Label          string `json:"label,omitempty"`
}

// ReplyStatus is the latest status of a reply in flight (sync_result).
type ReplyStatus struct {
	State string `json:"state"`
	Label string `json:"label,omitempty"`
}

// AgentPresence says an agent of ConversationID went online or offline; it
// goes only to the sockets focused on that conversation.
type AgentPresence struct {
	ConversationID string `json:"conversationId"`
	AgentID        string `json:"agentId"`
	Online         bool   `json:"online"`
}

// AgentOnline is whether one agent can be reached now (sync_result.agents):
// a socket on some relay instance, or an A2A endpoint.
type AgentOnline struct {
	AgentID string `json:"agentId"`
	Online  bool   `json:"online"`
}

// SyncResult answers Sync. Events are complete event frames, oldest first;
// Dropped says older events were discarded and the client should refetch.
type SyncResult struct {
	Conversations []ConversationState `json:"conversations"`
	// Channels are the read states of the channels of the user's
	// communities, the most recently active first, at most
	// store.MaxSyncChannels (PROTOCOL.md section 18).
	Channels      []ChannelState `json:"channels"`
	ActiveStreams []ActiveStream `json:"activeStreams"`
	Agents        []AgentOnline  `json:"agents"`
	// InputRequests are the open questions and approvals of agents in the
	// user's conversations, oldest first (as input_request frames).
	InputRequests []InputRequest `json:"inputRequests"`
	// AppSessions are the open app sessions of the user's conversations,
	// so a reconnecting client restores the apps it was showing.
	AppSessions []ari.AppSessionView `json:"appSessions"`
	Events      []json.RawMessage    `json:"events"`
	Dropped     bool                 `json:"dropped"`
}

// ConversationState is one conversation's read state.
type ConversationState struct {
	ConversationID string `json:"conversationId"`
	LastSeq        int64  `json:"lastSeq"`
	LastReadSeq    int64  `json:"lastReadSeq"`
	UnreadCount    int64  `json:"unreadCount"`
}

// ChannelState is one community channel's read state: UnreadCount is
// LastSeq − LastReadSeq, MentionCount the messages after LastReadSeq that
// @mention the user.
type ChannelState struct {
	ChannelID    string `json:"channelId"`
	CommunityID  string `json:"communityId"`
	LastSeq      int64  `json:"lastSeq"`
	LastReadSeq  int64  `json:"lastReadSeq"`
	UnreadCount  int64  `json:"unreadCount"`
	MentionCount int64  `json:"mentionCount"`
	// Muted: the user muted the channel or its community (no push).
	Muted bool `json:"muted"`
}

// ActiveStream is a reply in flight: Content is its text so far and Offset the
// UTF-8 length of Content, where the next live chunk starts.
type ActiveStream struct {
	MessageID      string `json:"messageId"`
	ConversationID string `json:"conversationId"`
	AgentID        string `json:"agentId"`
	Content        string `json:"content"`
	Offset         int64  `json:"offset"`
	// Status is the agent's latest agent_status for the reply, if any.
	Status *ReplyStatus `json:"status,omitempty"`
}

// ErrorFrame reports a refused frame or a failed request; the socket stays open.
type ErrorFrame struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	Ref     string `json:"ref,omitempty"`
	// RetryAfterMs comes with rate_limited: how long to wait, in whole
	// milliseconds (at least 1), before the same frame would be accepted.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

func (*SendMessage) FrameType() string  { return TypeSendMessage }
func (*Sync) FrameType() string         { return TypeSync }
func (*CancelStream) FrameType() string { return TypeCancelStream }
func (*MarkRead) FrameType() string     { return TypeMarkRead }
func (*Focus) FrameType() string        { return TypeFocus }
func (*Ping) FrameType() string         { return TypePing }
func (*Pong) FrameType() string         { return TypePong }
func (*SyncNeeded) FrameType() string   { return TypeSyncNeeded }
func (*MessageAck) FrameType() string   { return TypeMessageAck }
func (*StreamStart) FrameType() string  { return TypeStreamStart }
func (*StreamChunk) FrameType() string  { return TypeStreamChunk }
func (*StreamEnd) FrameType() string    { return TypeStreamEnd }
func (*SyncResult) FrameType() string   { return TypeSyncResult }
func (*StreamStatus) FrameType() string { return TypeStreamStatus }
func (*AgentPresence) FrameType() string {
	return TypeAgentPresence
}
func (*ErrorFrame) FrameType() string { return TypeError }
