package ari

// Member kinds: a conversation member is a user or an agent.
const (
	MemberUser  = "user"
	MemberAgent = "agent"
)

// Bounds of a group conversation.
const (
	MaxGroupMembers = 100 // users and agents together, the owner included
	MaxGroupAgents  = 20
)

// Member is a user or agent in a conversation. ID is the user's or the agent's
// own id (the same id events carry); Role is owner, admin or member.
type Member struct {
	ID       string  `json:"id"`
	Kind     string  `json:"kind"`
	Name     string  `json:"name"`
	Image    *string `json:"image"` // a user's image or an agent's avatar
	Role     string  `json:"role"`
	JoinedAt Time    `json:"joinedAt"`
}
