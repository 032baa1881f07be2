package protocol

import (
	"encoding/json"
	"time"
)

// Event frame types: changes made elsewhere (a function, another socket) that
// the relay delivers live or, while the user has no socket, keeps in pending.
const (
	TypeMessageNew          = "message_new"
	TypeMessageDeleted      = "message_deleted"
	TypeReactionAdded       = "reaction_added"
	TypeReactionRemoved     = "reaction_removed"
	TypeReadUpdated         = "read_updated"
	TypeMemberAdded         = "member_added"
	TypeMemberRemoved       = "member_removed"
	TypeConversationUpdated = "conversation_updated"
	TypeConversationDeleted = "conversation_deleted"
)

// Kinds of senders and members, and of conversations.
const (
	KindUser   = "user"
	KindAgent  = "agent"
	KindDirect = "direct"
	KindGroup  = "group"
)

// TimeLayout is the wire form of every time: ISO-8601, UTC, milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Time is a time.Time that travels as TimeLayout.
type Time struct{ time.Time }

// MarshalJSON writes t in UTC with milliseconds.
func (t Time) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(TimeLayout))
}

// UnmarshalJSON accepts any RFC 3339 time, so readers are lenient.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// Message is a conversation message as clients see it.
type Message struct {
	ID              string       `json:"id"`
	ConversationID  string       `json:"conversationId"`
	Seq             int64        `json:"seq"`
	Sender          Sender       `json:"sender"`
	Content         string       `json:"content"`
	Status          string       `json:"status"`
	Attachments     []Attachment `json:"attachments,omitempty"`
	ClientMessageID string       `json:"clientMessageId,omitempty"`
	ReplyTo         string       `json:"replyTo,omitempty"`
	CreatedAt       Time         `json:"createdAt"`
}

// Sender is who wrote a message.
type Sender struct {
	ID   string `json:"id"`
	Kind string `json:"kind,omitempty"`
	Name string `json:"name"`
}

// Attachment is a file attached to a message. URL may be short-lived.
type Attachment struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	Name        string `json:"name"`
}

// Member is a user or agent in a conversation.
type Member struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Conversation is the part of a conversation that conversation_updated carries.
type Conversation struct {
	ID        string `json:"id"`
	Kind      string `json:"kind"`
	Title     string `json:"title,omitempty"`
	UpdatedAt Time   `json:"updatedAt"`
}

// MessageNew: a message appeared (another device's send, another member's,
// or a reply that ended while the user had no socket).
type MessageNew struct {
	ConversationID string  `json:"conversationId"`
	Message        Message `json:"message"`
}

// MessageDeleted: a message was deleted.
type MessageDeleted struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	Seq            int64  `json:"seq"`
}

// Reaction is the payload of reaction_added and reaction_removed.
type Reaction struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	UserID         string `json:"userId"`
	Emoji          string `json:"emoji"`
}

// ReactionAdded and ReactionRemoved share Reaction's shape.
type (
	ReactionAdded   Reaction
	ReactionRemoved Reaction
)

// ReadUpdated: UserID has read ConversationID up to Seq.
type ReadUpdated struct {
	ConversationID string `json:"conversationId"`
	UserID         string `json:"userId"`
	Seq            int64  `json:"seq"`
}

// MemberAdded: a user or agent joined.
type MemberAdded struct {
	ConversationID string `json:"conversationId"`
	Member         Member `json:"member"`
}

// MemberRemoved: a user or agent left or was removed.
type MemberRemoved struct {
	ConversationID string `json:"conversationId"`
	MemberID       string `json:"memberId"`
	Kind           string `json:"kind"`
}

// ConversationUpdated: title or other settings changed.
type ConversationUpdated struct {
	Conversation Conversation `json:"conversation"`
}

// ConversationDeleted: the conversation is gone for everyone.
type ConversationDeleted struct {
	ConversationID string `json:"conversationId"`
}

func (*MessageNew) FrameType() string          { return TypeMessageNew }
func (*MessageDeleted) FrameType() string      { return TypeMessageDeleted }
func (*ReactionAdded) FrameType() string       { return TypeReactionAdded }
func (*ReactionRemoved) FrameType() string     { return TypeReactionRemoved }
func (*ReadUpdated) FrameType() string         { return TypeReadUpdated }
func (*MemberAdded) FrameType() string         { return TypeMemberAdded }
func (*MemberRemoved) FrameType() string       { return TypeMemberRemoved }
func (*ConversationUpdated) FrameType() string { return TypeConversationUpdated }
func (*ConversationDeleted) FrameType() string { return TypeConversationDeleted }
