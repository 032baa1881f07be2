package protocol

import (
	"encoding/json"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Event frame types: changes made elsewhere (a function, another socket) that
// the relay delivers live or, while the user has no socket, keeps in pending.
// Their envelope is shared/events.Event; the payload types below are its Data.
const (
	TypeMessageNew          = "message_new"
	TypeMessageDeleted      = "message_deleted"
	TypeReactionAdded       = "reaction_added"
	TypeReactionRemoved     = "reaction_removed"
	TypeReadUpdated         = "read_updated"
	TypeMemberAdded         = "member_added"
	TypeMemberRemoved       = "member_removed"
	TypeConversationCreated = "conversation_created"
	TypeConversationUpdated = "conversation_updated"
	TypeConversationDeleted = "conversation_deleted"
	TypeAppSessionStarted   = "app_session_started"
	TypeAppSessionUpdated   = "app_session_updated"
	TypeAppSessionEnded     = "app_session_ended"

	// Events of a community channel, to the sockets subscribed to it
	// (channels.go): never queued in pending.
	TypeChannelMessageNew      = "channel_message_new"
	TypeChannelMessageDeleted  = "channel_message_deleted"
	TypeChannelReactionAdded   = "channel_reaction_added"
	TypeChannelReactionRemoved = "channel_reaction_removed"
	TypeChannelInputResolved   = "channel_input_resolved" // data: InputResolvedData
)

// EventTypes lists every event type, for decoders and tests.
var EventTypes = []string{
	TypeMessageNew, TypeMessageDeleted, TypeReactionAdded, TypeReactionRemoved,
	TypeReadUpdated, TypeMemberAdded, TypeMemberRemoved, TypeConversationCreated,
	TypeConversationUpdated, TypeConversationDeleted, TypeChainLimit, TypeInputResolved,
	TypeAppSessionStarted, TypeAppSessionUpdated, TypeAppSessionEnded,
	TypeChannelMessageNew, TypeChannelMessageDeleted, TypeChannelReactionAdded, TypeChannelReactionRemoved,
	TypeChannelInputResolved,
}

// Kinds of members and of conversations.
const (
	KindUser   = "user"
	KindAgent  = "agent"
	KindDirect = "direct"
	KindGroup  = "group"
)

// Event is an event frame: the same JSON as shared/events.Event (which
// functions publish through Redis and the relay forwards as is), with Type
// moved out of the body because Encode writes it.
type Event struct {
	Type           string          `json:"-"`
	ID             string          `json:"id"`
	ConversationID string          `json:"conversationId,omitempty"`
	ChannelID      string          `json:"channelId,omitempty"`
	At             ari.Time        `json:"at"`
	Data           json.RawMessage `json:"data,omitempty"`
}

// FrameType is the event's type.
func (e *Event) FrameType() string { return e.Type }

// MessageNewData: a message appeared (another device's send, another member's,
// or a reply that ended while the user had no socket).
type MessageNewData struct {
	Message ari.Message `json:"message"`
}

// MessageDeletedData: a message became a tombstone.
type MessageDeletedData struct {
	MessageID string `json:"messageId"`
	Seq       int64  `json:"seq"`
}

// ReactionData is the payload of reaction_added and reaction_removed.
type ReactionData struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
}

// ReadUpdatedData: UserID has read the conversation up to Seq.
type ReadUpdatedData struct {
	UserID string `json:"userId"`
	Seq    int64  `json:"seq"`
}

// MemberAddedData: a user or agent joined.
type MemberAddedData struct {
	Member Member `json:"member"`
}

// MemberRemovedData: a user or agent left or was removed.
type MemberRemovedData struct {
	MemberID string `json:"memberId"`
	Kind     string `json:"kind"`
}

// ConversationData is the payload of conversation_created and _updated.
type ConversationData struct {
	Conversation Conversation `json:"conversation"`
}

// AppSessionData is the payload of app_session_started, _updated and
// _ended: the session as it is after the change.
type AppSessionData struct {
	Session ari.AppSessionView `json:"session"`
}

// Member is a user or agent in a conversation.
type Member struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Conversation is what conversation events say about a conversation.
type Conversation struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title,omitempty"`
	UpdatedAt ari.Time `json:"updatedAt"`
}

// Sender is who wrote the message of a task.
type Sender struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Attachment is a file attached to a task's message. URL may be short-lived.
type Attachment struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	Name        string `json:"name"`
}
