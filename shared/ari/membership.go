package ari

// ConversationMember is a row of conversation_members: a user or an agent
// (exactly one of UserID, AgentID) in a conversation. Member is its public view.
type ConversationMember struct {
	ConversationID string  `json:"conversationId"`
	MemberID       string  `json:"memberId"`
	UserID         *string `json:"userId"`
	AgentID        *string `json:"agentId"`
	Role           string  `json:"role"` // owner | admin | member
	Muted          bool    `json:"muted"`
	JoinedAt       Time    `json:"joinedAt"`
}

// MessageReaction is a row of message_reactions; ReactionCount is its summary.
type MessageReaction struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
	CreatedAt Time   `json:"createdAt"`
}
