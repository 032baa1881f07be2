package ari

// Message roles and reply statuses, as stored in messages.role / messages.status.
const (
	RoleUser   = "user"
	RoleAgent  = "agent"
	RoleSystem = "system"

	StatusPending   = "pending"   // an agent reply created, not started
	StatusStreaming = "streaming" // chunks are arriving
	StatusComplete  = "complete"
	StatusError     = "error"
	StatusCancelled = "cancelled"
)

// MaxMessageBytes bounds the text of a message a person or an agent writes
// (a send_message, an agent_message, POST /api/agent/messages); replies to
// tasks may grow larger (relay/protocol.MaxReplyBytes).
const MaxMessageBytes = 16 << 10

// Message is a row of messages. A deleted message is a tombstone: it keeps its
// seq (so seqs stay continuous) with content and attachments removed.
type Message struct {
	ID              string  `json:"id"`
	ConversationID  string  `json:"conversationId"`
	Seq             int64   `json:"seq"`
	Role            string  `json:"role"`
	SenderUserID    *string `json:"senderUserId"`
	SenderAgentID   *string `json:"senderAgentId"`
	Content         string  `json:"content"`
	Status          string  `json:"status"`
	Error           *string `json:"error,omitempty"`
	ClientMessageID *string `json:"clientMessageId,omitempty"`
	ReplyToID       *string `json:"replyToId,omitempty"`
	// Version numbers one agent's answers to one message (replies only,
	// else 0 and absent): 1 for the first, the next for each regenerate.
	Version int `json:"version,omitempty"`
	// Superseded: a newer version of this reply exists; history leaves it
	// out unless asked for every version.
	Superseded bool `json:"superseded,omitempty"`
	// ChainHop and ChainRootID place a reply an agent's mention set off in
	// its agent chain (relay/PROTOCOL.md section 13): hop 1 for the first
	// agent-to-agent hop, and the person's message that started the chain.
	// Zero and absent on everything else, replies to a person included.
	ChainHop    int     `json:"chainHop,omitempty"`
	ChainRootID *string `json:"chainRootId,omitempty"`
	// Versions lists, in history pages and search hits, the ids of every
	// version of a reply that has more than one, oldest first (this one
	// included).
	Versions     []string `json:"versions,omitempty"`
	CreatedAt    Time     `json:"createdAt"`
	UpdatedAt    Time     `json:"updatedAt"`
	FirstChunkAt *Time    `json:"firstChunkAt,omitempty"`
	CompletedAt  *Time    `json:"completedAt,omitempty"`
	DeletedAt    *Time    `json:"deletedAt,omitempty"`
	Deleted      bool     `json:"deleted"`
}
