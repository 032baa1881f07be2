package ari

// Community is a row of communities: a public or private space with channels.
type Community struct {
	ID          string  `json:"id"`
	OwnerID     *string `json:"ownerId"`
	Name        string  `json:"name"`
	Slug        string  `json:"slug"`
	Description string  `json:"description"`
	Visibility  string  `json:"visibility"` // private | public
	// MemberCount is kept by a trigger on community_members.
	MemberCount int  `json:"memberCount"`
	CreatedAt   Time `json:"createdAt"`
	UpdatedAt   Time `json:"updatedAt"`
	// MyRole is the caller's role (owner, admin, member), absent when the
	// caller is not a member; Muted says the caller muted the community's
	// push notifications. Not columns.
	MyRole *string `json:"myRole"`
	Muted  bool    `json:"muted"`
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
	UpdatedAt   Time   `json:"updatedAt"`
	// LastReadSeq is the caller's read mark and UnreadCount the seqs after
	// it (LastSeq - LastReadSeq); MentionCount is how many messages after
	// it @mention the caller; AgentIDs are the agents that may answer in
	// the channel. Not columns.
	LastReadSeq  int64    `json:"lastReadSeq"`
	UnreadCount  int64    `json:"unreadCount"`
	MentionCount int64    `json:"mentionCount"`
	AgentIDs     []string `json:"agentIds"`
	// Muted: the caller muted this channel's push notifications (the
	// community's mute is the community's Muted).
	Muted bool `json:"muted"`
}

// CommunityMember is a row of community_members.
type CommunityMember struct {
	CommunityID string `json:"communityId"`
	UserID      string `json:"userId"`
	Role        string `json:"role"` // owner | admin | member
	JoinedAt    Time   `json:"joinedAt"`
	// Handle is ari.AgentHandle of the user's name, kept by triggers, by
	// which messages @mention the member.
	Handle string `json:"handle"`
	// Muted: the member gets no push notifications from the community.
	Muted bool `json:"muted"`
}

// ChannelMessage is a row of channel_messages. A deleted message is a
// tombstone that keeps its seq, as in conversations.
type ChannelMessage struct {
	ID              string  `json:"id"`
	ChannelID       string  `json:"channelId"`
	Seq             int64   `json:"seq"`
	SenderUserID    *string `json:"senderUserId"`
	SenderAgentID   *string `json:"senderAgentId"`
	Content         string  `json:"content"`
	ClientMessageID *string `json:"clientMessageId,omitempty"`
	CreatedAt       Time    `json:"createdAt"`
	UpdatedAt       Time    `json:"updatedAt"`
	DeletedAt       *Time   `json:"deletedAt,omitempty"`
	// DeletedBy is who deleted it (the sender or an admin); not shown.
	DeletedBy *string `json:"-"`
	Deleted   bool    `json:"deleted"`
}

// CommunityBan is a row of community_bans: the user cannot join or read
// the community until unbanned.
type CommunityBan struct {
	CommunityID string  `json:"communityId"`
	UserID      string  `json:"userId"`
	BannedBy    *string `json:"bannedBy"`
	Reason      string  `json:"reason"`
	CreatedAt   Time    `json:"createdAt"`
}

// CommunityInvite is a row of community_invites: a link that lets whoever
// holds its code join a (private or public) community until it expires,
// is used MaxUses times, or is revoked.
type CommunityInvite struct {
	ID          string  `json:"id"`
	CommunityID string  `json:"communityId"`
	Code        string  `json:"code"`
	CreatedBy   *string `json:"createdBy"`
	ExpiresAt   *Time   `json:"expiresAt"`
	MaxUses     *int    `json:"maxUses"`
	Uses        int     `json:"uses"`
	RevokedAt   *Time   `json:"revokedAt"`
	CreatedAt   Time    `json:"createdAt"`
}

// CommunityAgent is a row of community_agents: an agent an admin added.
type CommunityAgent struct {
	CommunityID string  `json:"communityId"`
	AgentID     string  `json:"agentId"`
	AddedBy     *string `json:"addedBy"`
	CreatedAt   Time    `json:"createdAt"`
}

// ChannelAgent is a row of channel_agents: a community agent that may
// answer in one of its channels.
type ChannelAgent struct {
	ChannelID   string `json:"channelId"`
	CommunityID string `json:"communityId"`
	AgentID     string `json:"agentId"`
	CreatedAt   Time   `json:"createdAt"`
}

// ChannelRead is a row of channel_reads: how far a member has read a channel.
type ChannelRead struct {
	ChannelID   string `json:"channelId"`
	UserID      string `json:"userId"`
	LastReadSeq int64  `json:"lastReadSeq"`
	UpdatedAt   Time   `json:"updatedAt"`
	// Muted: the member gets no push notifications from the channel.
	Muted bool `json:"muted"`
}

// ChannelMention is a row of channel_mentions: the message at Seq in the
// channel @mentions the user, who has not read that far yet.
type ChannelMention struct {
	UserID    string `json:"userId"`
	ChannelID string `json:"channelId"`
	Seq       int64  `json:"seq"`
	CreatedAt Time   `json:"createdAt"`
}

// ChannelMessageReaction is a row of channel_message_reactions.
type ChannelMessageReaction struct {
	MessageID string `json:"messageId"`
	UserID    string `json:"userId"`
	Emoji     string `json:"emoji"`
	CreatedAt Time   `json:"createdAt"`
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

// ChannelReply is a row of channel_replies: an agent's reply to a channel
// message that @mentioned it. Its text is saved, when it ends, as the
// channel message with the same id (sender_agent_id, the channel's next
// seq). Status is one of pending, streaming, complete, error, cancelled.
type ChannelReply struct {
	ID           string  `json:"id"`
	ChannelID    string  `json:"channelId"`
	AgentID      string  `json:"agentId"`
	ReplyToID    string  `json:"replyToId"`
	Status       string  `json:"status"`
	Error        *string `json:"error,omitempty"`
	ChainRootID  *string `json:"chainRootId,omitempty"`
	ChainHop     int     `json:"chainHop"`
	CreatedAt    Time    `json:"createdAt"`
	StartedAt    *Time   `json:"startedAt,omitempty"`
	FirstChunkAt *Time   `json:"firstChunkAt,omitempty"`
	EndedAt      *Time   `json:"endedAt,omitempty"`
}
