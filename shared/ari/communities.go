package ari

// Community is a row of communities: a public or private space with channels.
type Community struct {
	ID          string  `json:"id"`
	OwnerID     *string `json:"ownerId"`
	Name        string  `json:"name"`
	Slug        string  `json:"slug"`
	Description string  `json:"description"`
	Visibility  string  `json:"visibility"` // private | public
	CreatedAt   Time    `json:"createdAt"`
}

// Channel is a row of channels; LastSeq is its message counter (as for
// conversations, seqs are gap-free per channel).
type Channel struct {
	ID          string `json:"id"`
	CommunityID string `json:"communityId"`
	Name        string `json:"name"`
	Topic       string `json:"topic"`
	Position    int    `json:"position"`
	LastSeq     int64  `json:"lastSeq"`
	CreatedAt   Time   `json:"createdAt"`
}

// CommunityMember is a row of community_members.
type CommunityMember struct {
	CommunityID string `json:"communityId"`
	UserID      string `json:"userId"`
	Role        string `json:"role"` // owner | admin | member
	JoinedAt    Time   `json:"joinedAt"`
}

// ChannelMessage is a row of channel_messages.
type ChannelMessage struct {
	ID            string  `json:"id"`
	ChannelID     string  `json:"channelId"`
	Seq           int64   `json:"seq"`
	SenderUserID  *string `json:"senderUserId"`
	SenderAgentID *string `json:"senderAgentId"`
	Content       string  `json:"content"`
	CreatedAt     Time    `json:"createdAt"`
	DeletedAt     *Time   `json:"deletedAt,omitempty"`
}

// ConversationRead is a row of conversation_reads: how far a user has read.
type ConversationRead struct {
	ConversationID string `json:"conversationId"`
	UserID         string `json:"userId"`
	LastReadSeq    int64  `json:"lastReadSeq"`
	UpdatedAt      Time   `json:"updatedAt"`
}

// PushSubscription is a row of push_subscriptions (a browser's PushSubscription).
type PushSubscription struct {
	ID         string `json:"id"`
	UserID     string `json:"userId"`
	Endpoint   string `json:"endpoint"`
	P256dh     string `json:"p256dh"`
	Auth       string `json:"auth"`
	UserAgent  string `json:"userAgent"`
	CreatedAt  Time   `json:"createdAt"`
	LastUsedAt *Time  `json:"lastUsedAt,omitempty"`
}
