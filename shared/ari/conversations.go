package ari

// Conversation kinds, as stored in conversations.kind.
const (
	KindDirect = "direct" // one user and one agent
	KindGroup  = "group"  // several users and agents
)

// Turn policies: what a new message addressed to an agent does while a reply
// is active or queued in the conversation (relay/PROTOCOL.md section 10). The
// table's CHECK constraint agrees.
const (
	TurnQueue     = "queue"     // wait behind the active reply (the default)
	TurnReject    = "reject"    // refused with conversation_busy, nothing stored
	TurnInterrupt = "interrupt" // the active reply ends cancelled, queued ones are dropped
)

// ValidTurnPolicy reports whether p is one of the turn policies.
func ValidTurnPolicy(p string) bool {
	return p == TurnQueue || p == TurnReject || p == TurnInterrupt
}

// Agent chains (relay/PROTOCOL.md section 13): in a group, an agent's
// finished reply that mentions another agent member gives it a reply too.
// A chain (everything one person's message sets off) makes at most
// ChainHops agent-to-agent hops in a row and ChainReplyFactor × ChainHops
// such replies in all; the table's CHECK constraint agrees on the bounds.
const (
	DefaultChainHops = 4
	MaxChainHops     = 16
	ChainReplyFactor = 2
)

// Bounds of a conversation's fields; the table's CHECK constraints agree.
const (
	MaxConversationTitle = 200 // characters
	PreviewLength        = 140 // characters of the last message shown in lists
)

// Conversation is a conversation as one member sees it: the row plus that
// member's own state (role, muted, read position) and a summary for lists.
type Conversation struct {
	ID            string  `json:"id"`
	Kind          string  `json:"kind"`
	Title         string  `json:"title"`
	CreatedBy     *string `json:"createdBy"`
	LastSeq       int64   `json:"lastSeq"`
	LastMessageAt *Time   `json:"lastMessageAt"`
	CreatedAt     Time    `json:"createdAt"`
	UpdatedAt     Time    `json:"updatedAt"`
	// TurnPolicy is one of TurnQueue, TurnReject, TurnInterrupt.
	TurnPolicy string `json:"turnPolicy"`
	// ChainHops is the budget of agent-to-agent hops per chain (0 to
	// MaxChainHops; 0: an agent's mention starts no reply).
	ChainHops int `json:"chainHops"`

	Role        string `json:"role"`
	Muted       bool   `json:"muted"`
	LastReadSeq int64  `json:"lastReadSeq"`
	// UnreadCount counts messages after LastReadSeq that others sent and that
	// are not deleted.
	UnreadCount int64 `json:"unreadCount"`

	Agents      []ConversationAgent `json:"agents"`
	LastMessage *MessagePreview     `json:"lastMessage"`
	// Streaming is true while an agent reply is being written (the relay's
	// active mark exists).
	Streaming bool `json:"streaming"`
}

// Activity is when the conversation last changed, the order of lists.
func (c Conversation) Activity() Time {
	if c.LastMessageAt != nil {
		return *c.LastMessageAt
	}
	return c.CreatedAt
}

// ConversationAgent is what a conversation list shows of each agent in it.
type ConversationAgent struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Handle    string  `json:"handle"`
	AvatarURL *string `json:"avatarUrl"`
}

// MessagePreview is the start of a conversation's newest message. A deleted
// message shows as a tombstone: Deleted true and no content.
type MessagePreview struct {
	ID            string  `json:"id"`
	Seq           int64   `json:"seq"`
	Role          string  `json:"role"`
	SenderUserID  *string `json:"senderUserId"`
	SenderAgentID *string `json:"senderAgentId"`
	Content       string  `json:"content"`
	Status        string  `json:"status"`
	Deleted       bool    `json:"deleted"`
	CreatedAt     Time    `json:"createdAt"`
}
