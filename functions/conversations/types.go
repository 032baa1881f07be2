package conversations

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
)

// CreateConversationRequest is the body of POST /api/conversations: a direct
// conversation with one agent the caller may talk to (their own or a public one).
type CreateConversationRequest struct {
	AgentID string `json:"agentId"`
	Title   string `json:"title"`
}

// Validate checks every field at once.
func (q *CreateConversationRequest) Validate() map[string]string {
	bad := map[string]string{}
	if strings.TrimSpace(q.AgentID) == "" {
		bad["agentId"] = "is required"
	} else if len(q.AgentID) > 100 {
		bad["agentId"] = "is too long"
	}
	q.Title = strings.TrimSpace(q.Title)
	checkTitle(bad, q.Title)
	return bad
}

// UpdateConversationRequest is the body of PUT /api/conversations/{id}:
// absent fields stay as they are.
type UpdateConversationRequest struct {
	Title      *string `json:"title"`
	TurnPolicy *string `json:"turnPolicy"`
	// ChainHops is the budget of agent-to-agent hops per chain (0 to
	// ari.MaxChainHops; relay/PROTOCOL.md section 13).
	ChainHops *int `json:"chainHops"`
}

// Validate checks the title ("" clears it), the turn policy and the chain
// budget, and that the body changes something.
func (q *UpdateConversationRequest) Validate() map[string]string {
	bad := map[string]string{}
	if q.Title == nil && q.TurnPolicy == nil && q.ChainHops == nil {
		bad["title"] = "give title, turnPolicy or chainHops (any of them)"
	}
	if q.Title != nil {
		t := strings.TrimSpace(*q.Title)
		q.Title = &t
		checkTitle(bad, t)
	}
	if q.TurnPolicy != nil && !ari.ValidTurnPolicy(*q.TurnPolicy) {
		bad["turnPolicy"] = "must be one of queue, reject, interrupt"
	}
	if q.ChainHops != nil && (*q.ChainHops < 0 || *q.ChainHops > ari.MaxChainHops) {
		bad["chainHops"] = fmt.Sprintf("must be an integer from 0 to %d", ari.MaxChainHops)
	}
	return bad
}

func checkTitle(bad map[string]string, t string) {
	if utf8.RuneCountInString(t) > ari.MaxConversationTitle {
		bad["title"] = fmt.Sprintf("at most %d characters", ari.MaxConversationTitle)
	} else if strings.ContainsAny(t, "\x00") {
		bad["title"] = "must not contain NUL"
	}
}

// ReadRequest is the body of POST /api/conversations/{id}/read: the caller
// has read everything up to and including Seq.
type ReadRequest struct {
	Seq *int64 `json:"seq"`
}

// Validate requires a non-negative seq.
func (q *ReadRequest) Validate() map[string]string {
	switch {
	case q.Seq == nil:
		return map[string]string{"seq": "is required"}
	case *q.Seq < 0:
		return map[string]string{"seq": "must not be negative"}
	}
	return nil
}

// ReadResponse answers POST /api/conversations/{id}/read with the stored
// mark, which may be higher than the one sent (marks never move backwards).
type ReadResponse struct {
	ConversationID string `json:"conversationId"`
	LastReadSeq    int64  `json:"lastReadSeq"`
}

// MuteResponse answers POST /api/conversations/{id}/mute with the new state.
type MuteResponse struct {
	Muted bool `json:"muted"`
}

// StatusResponse answers GET /api/conversations/{id}/status.
type StatusResponse struct {
	ConversationID string `json:"conversationId"`
	// Streaming: an agent reply is being written; ActiveMessageID is that reply.
	Streaming       bool    `json:"streaming"`
	ActiveMessageID *string `json:"activeMessageId"`
	// Queued counts sends waiting for the active reply to end.
	Queued int64 `json:"queued"`
	// AgentOnline: at least one agent of the conversation is online.
	AgentOnline bool          `json:"agentOnline"`
	Agents      []AgentStatus `json:"agents"`
}

// AgentStatus is whether one agent of the conversation can be reached now:
// a socket open on some relay instance, or an A2A endpoint the relay would
// call (whether that endpoint answers shows only when it is called).
type AgentStatus struct {
	ID     string `json:"id"`
	Online bool   `json:"online"`
}

// Event payloads (the Data of shared/events.Event), as relay/PROTOCOL.md
// section 7 documents them.

// ConversationEventData is the payload of conversation_created and _updated.
type ConversationEventData struct {
	Conversation ConversationSummary `json:"conversation"`
}

// ConversationSummary is what conversation events say about a conversation.
type ConversationSummary struct {
	ID         string   `json:"id"`
	Kind       string   `json:"kind"`
	Title      string   `json:"title"`
	TurnPolicy string   `json:"turnPolicy"`
	ChainHops  int      `json:"chainHops"`
	UpdatedAt  ari.Time `json:"updatedAt"`
}

func eventData(c ari.Conversation) ConversationEventData {
	return ConversationEventData{Conversation: ConversationSummary{ID: c.ID, Kind: c.Kind, Title: c.Title,
		TurnPolicy: c.TurnPolicy, ChainHops: c.ChainHops, UpdatedAt: c.UpdatedAt}}
}

// ConversationDeletedData is the payload of conversation_deleted.
type ConversationDeletedData struct {
	ConversationID string `json:"conversationId"`
}

// MemberRemovedData is the payload of member_removed: MemberID is the id of
// the user or agent that left, Kind says which.
type MemberRemovedData struct {
	MemberID string `json:"memberId"`
	Kind     string `json:"kind"`
}

// ReadUpdatedData is the payload of read_updated.
type ReadUpdatedData struct {
	UserID string `json:"userId"`
	Seq    int64  `json:"seq"`
}
