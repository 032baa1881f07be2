package ari

import "encoding/json"

// Kinds of input requests: a question wants a text answer, an approval a yes
// or no (relay/PROTOCOL.md section 9, agent_input_request).
const (
	InputQuestion = "question"
	InputApproval = "approval"
)

// States of an input request. Open is the only one that takes an answer;
// cancelled means its reply ended before anyone answered.
const (
	InputOpen      = "open"
	InputAnswered  = "answered"
	InputExpired   = "expired"
	InputCancelled = "cancelled"
)

// StatusWaitingInput is a reply's status while it waits for a person to
// answer its agent's input request (and until the answer reaches the agent).
const StatusWaitingInput = "waiting_input"

// Bounds of an input request, shared by the relay's frame decoder and REST.
const (
	MaxInputPromptBytes = 4096
	MaxInputOptions     = 16
	MaxInputOptionBytes = 200
	MaxInputSchemaBytes = 8 << 10
	MaxInputAnswerBytes = 8 << 10
)

// InputRequest is a row of input_requests: what an agent asked the people of
// a conversation while writing the reply MessageID, and how it was settled.
type InputRequest struct {
	ID             string `json:"requestId"`
	MessageID      string `json:"messageId"`
	ConversationID string `json:"conversationId"`
	// ChannelID is set, and ConversationID empty, for a request of an
	// agent's reply in a community channel; MessageID is then that reply.
	ChannelID  string          `json:"channelId,omitempty"`
	AgentID    *string         `json:"agentId"`
	Kind       string          `json:"kind"`
	Prompt     string          `json:"prompt"`
	Options    []string        `json:"options,omitempty"`
	Schema     json.RawMessage `json:"schema,omitempty"`
	State      string          `json:"state"`
	Answer     *string         `json:"answer,omitempty"`
	Approved   *bool           `json:"approved,omitempty"`
	AnsweredBy *string         `json:"answeredBy,omitempty"`
	AnsweredAt *Time           `json:"answeredAt,omitempty"`
	ExpiresAt  Time            `json:"expiresAt"`
	ResolvedAt *Time           `json:"resolvedAt,omitempty"`
	// DeliveredAt is when the answer (or the expiry) reached the agent's
	// socket: the relay's bookkeeping, not shown to people.
	DeliveredAt *Time `json:"-"`
	CreatedAt   Time  `json:"createdAt"`
	// A2ATaskID, A2AContextID, A2ADialect and A2AEndpoint name the A2A
	// task whose input-required state the relay turned into this request
	// ("" for a socket agent's request): where its answer is sent back.
	// The relay's bookkeeping, not shown to people.
	A2ATaskID    string `json:"-"`
	A2AContextID string `json:"-"`
	A2ADialect   string `json:"-"`
	A2AEndpoint  string `json:"-"`
	// ChannelReplyID repeats MessageID for a channel's request (the column
	// that names a channel reply); "" for a conversation's.
	ChannelReplyID string `json:"-"`
}

// A2AAbandonedTask is an A2A task left waiting for an answer whose request
// was deleted (its conversation deleted, its user erased): a relay cancels
// it (store.ClaimAbandonedA2ATasks). The relay's bookkeeping.
type A2AAbandonedTask struct {
	ID        int64  `json:"-"`
	AgentID   string `json:"-"`
	TaskID    string `json:"-"`
	ContextID string `json:"-"`
	Dialect   string `json:"-"`
	Endpoint  string `json:"-"`
	CreatedAt Time   `json:"-"`
}
