package protocol

import "encoding/json"

// Frame types of the agent socket, agent → relay (plus TypePing).
const (
	TypeAuth          = "auth"
	TypeSkills        = "skills"
	TypeAgentChunk    = "agent_chunk"
	TypeAgentComplete = "agent_complete"
	TypeAgentError    = "agent_error"
	TypeAgentStatus   = "agent_status"
	TypeAgentMessage  = "agent_message"
)

// Frame types of the agent socket, relay → agent (plus TypeError, TypePong).
const (
	TypeAuthOK     = "auth_ok"
	TypeAuthError  = "auth_error"
	TypeTask       = "task"
	TypeTaskCancel = "task_cancel"
	// TypeAgentMessageAck answers agent_message with the stored message.
	TypeAgentMessageAck = "agent_message_ack"
)

// States of agent_status (and of stream_status, which relays it).
const (
	StateThinking = "thinking"
	StateTool     = "tool"
	StateWriting  = "writing"
	StateWaiting  = "waiting"
)

// ValidState reports whether s is one of the agent_status states.
func ValidState(s string) bool {
	switch s {
	case StateThinking, StateTool, StateWriting, StateWaiting:
		return true
	}
	return false
}

// Chunk modes of agent_chunk.
const (
	ModeDelta       = "delta"
	ModeAccumulated = "accumulated"
)

// History roles in a task.
const (
	RoleUser  = "user"
	RoleAgent = "agent"
)

// Reasons in task_cancel.
const (
	CancelUser                = "user_cancelled"
	CancelTimeout             = "timeout"
	CancelInvalidChunk        = "invalid_chunk"
	CancelReplyTooLarge       = "reply_too_large"
	CancelConversationDeleted = "conversation_deleted"
	CancelAgentRemoved        = "agent_removed"
	CancelInternal            = "internal"
	// CancelInterrupted: a new message in a conversation whose turn
	// policy is interrupt ended the reply (it is saved cancelled).
	CancelInterrupted = "interrupted"
)

// Auth must be the agent's first frame.
type Auth struct {
	Token string `json:"token"`
}

// Skills declares what the agent can do; each frame replaces the last.
type Skills struct {
	Skills []Skill `json:"skills"`
}

// Skill is one declared capability.
type Skill struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// AgentChunk carries reply text for a task; Mode is ModeDelta, ModeAccumulated
// or empty (detected, see Merge).
type AgentChunk struct {
	TaskID  string `json:"taskId"`
	Content string `json:"content"`
	Mode    string `json:"mode,omitempty"`
}

// AgentComplete ends a task. Content, when present, is the authoritative final text.
type AgentComplete struct {
	TaskID  string  `json:"taskId"`
	Content *string `json:"content,omitempty"`
}

// AgentError ends a task in error; Error is shown to users.
type AgentError struct {
	TaskID string `json:"taskId"`
	Error  string `json:"error"`
}

// AgentStatus says what the agent is doing on a task; members see it as
// stream_status. Label is a short text for people ("Searching the web").
type AgentStatus struct {
	TaskID string `json:"taskId"`
	State  string `json:"state"`
	Label  string `json:"label,omitempty"`
}

// AgentMessage posts a message in a conversation the agent is a member of,
// without a task; retries reuse ClientMessageID.
type AgentMessage struct {
	ConversationID  string `json:"conversationId"`
	Content         string `json:"content"`
	ClientMessageID string `json:"clientMessageId"`
}

// AgentMessageAck confirms a stored agent message.
type AgentMessageAck struct {
	ClientMessageID string `json:"clientMessageId"`
	MessageID       string `json:"messageId"`
	Seq             int64  `json:"seq"`
}

// AuthOK accepts the agent, or a client socket that authenticated with a
// ticket (TicketAuth); exactly one of Agent and User is set.
type AuthOK struct {
	Agent    AgentInfo `json:"agent,omitzero"`
	User     *UserInfo `json:"user,omitempty"`
	Protocol string    `json:"protocol"`
}

// AgentInfo identifies the authenticated agent.
type AgentInfo struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Handle string `json:"handle,omitempty"`
}

// AuthError refuses the agent; the relay closes the socket after it.
type AuthError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Task asks the agent to write the reply MessageID to Message.
type Task struct {
	TaskID         string          `json:"taskId"`
	ConversationID string          `json:"conversationId"`
	MessageID      string          `json:"messageId"`
	Message        TaskMessage     `json:"message"`
	History        []HistoryEntry  `json:"history"`
	Tools          json.RawMessage `json:"tools,omitempty"`
	// Regenerate is set when the reply is a new version of an earlier
	// answer to the same message (a member asked for another answer).
	Regenerate *TaskRegenerate `json:"regenerate,omitempty"`
	// Chain is set when another agent's reply (Message) mentioned this
	// agent (PROTOCOL.md section 13).
	Chain *TaskChain `json:"chain,omitempty"`
	// Channel is set on a task from a community channel (ConversationID is
	// then empty): Message and History are the channel's.
	Channel *TaskChannel `json:"channel,omitempty"`
}

// TaskMessage is the message the agent answers: a person's, or in a chain
// the reply of the agent that mentioned it.
type TaskMessage struct {
	ID          string       `json:"id"`
	Seq         int64        `json:"seq"`
	Content     string       `json:"content"`
	Sender      Sender       `json:"sender"`
	Attachments []Attachment `json:"attachments"`
}

// TaskCancel tells the agent to stop a task; further chunks for it are dropped.
type TaskCancel struct {
	TaskID string `json:"taskId"`
	Reason string `json:"reason"`
}

func (*Auth) FrameType() string          { return TypeAuth }
func (*Skills) FrameType() string        { return TypeSkills }
func (*AgentChunk) FrameType() string    { return TypeAgentChunk }
func (*AgentComplete) FrameType() string { return TypeAgentComplete }
func (*AgentError) FrameType() string    { return TypeAgentError }
func (*AgentStatus) FrameType() string   { return TypeAgentStatus }
func (*AgentMessage) FrameType() string  { return TypeAgentMessage }
func (*AgentMessageAck) FrameType() string {
	return TypeAgentMessageAck
}
func (*AuthOK) FrameType() string     { return TypeAuthOK }
func (*AuthError) FrameType() string  { return TypeAuthError }
func (*Task) FrameType() string       { return TypeTask }
func (*TaskCancel) FrameType() string { return TypeTaskCancel }
