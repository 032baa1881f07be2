package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Questions and approvals (PROTOCOL.md section 9, agent_input_request): an
// agent asks the people of a conversation something while it writes a reply;
// the reply waits for the first answer. The types live here and register
// themselves with the decoders.

// Frame types of input requests. TypeInputResponse is two frames: the
// client's answer (client → relay) and the answer the agent gets (relay →
// agent), told apart by the socket.
const (
	TypeAgentInputRequest = "agent_input_request" // agent → relay
	TypeInputRequest      = "input_request"       // relay → client
	TypeInputResponse     = "input_response"      // client → relay, relay → agent
	TypeInputTimeout      = "input_timeout"       // relay → agent
	// TypeInputResolved is the event members get when a request is
	// answered or expires.
	TypeInputResolved = "input_resolved"
)

// Kinds of input requests.
const (
	InputQuestion = ari.InputQuestion
	InputApproval = ari.InputApproval
)

// Error codes of input requests.
const (
	// CodeAlreadyAnswered refuses an input_response to a request that no
	// longer takes one: answered first by someone else, expired, or its
	// reply ended.
	CodeAlreadyAnswered = "already_answered"
	// CodeInputPending refuses an agent_input_request while the reply
	// waits for the answer to another one.
	CodeInputPending = "input_pending"
	// CodeRequestIDInUse refuses an agent_input_request whose requestId
	// names a request of another reply.
	CodeRequestIDInUse = "request_id_in_use"
)

// AgentInputRequest asks the conversation's people a question or for an
// approval; the reply waits for the answer.
type AgentInputRequest struct {
	TaskID    string          `json:"taskId"`
	RequestID string          `json:"requestId"`
	Kind      string          `json:"kind"`
	Prompt    string          `json:"prompt"`
	Options   []string        `json:"options,omitempty"`
	Schema    json.RawMessage `json:"schema,omitempty"`
}

// InputRequest tells members of an open request (and lists open requests in
// sync_result).
type InputRequest struct {
	RequestID      string          `json:"requestId"`
	MessageID      string          `json:"messageId"`
	ConversationID string          `json:"conversationId"`
	Kind           string          `json:"kind"`
	Prompt         string          `json:"prompt"`
	Options        []string        `json:"options,omitempty"`
	Schema         json.RawMessage `json:"schema,omitempty"`
	ExpiresAt      ari.Time        `json:"expiresAt"`
}

// InputAnswer is a member's answer (client → relay input_response).
type InputAnswer struct {
	RequestID string  `json:"requestId"`
	Answer    *string `json:"answer,omitempty"`
	Approved  *bool   `json:"approved,omitempty"`
}

// InputResponse is the answer the agent gets (relay → agent input_response).
type InputResponse struct {
	TaskID    string  `json:"taskId"`
	RequestID string  `json:"requestId"`
	Answer    *string `json:"answer,omitempty"`
	Approved  *bool   `json:"approved,omitempty"`
	UserID    string  `json:"userId"`
}

// InputTimeout tells the agent nobody answered in time.
type InputTimeout struct {
	TaskID    string `json:"taskId"`
	RequestID string `json:"requestId"`
}

// InputResolvedData is the payload of the input_resolved event: State is
// answered or expired; with answered, who answered what.
type InputResolvedData struct {
	RequestID  string    `json:"requestId"`
	MessageID  string    `json:"messageId"`
	State      string    `json:"state"`
	Answer     *string   `json:"answer,omitempty"`
	Approved   *bool     `json:"approved,omitempty"`
	AnsweredBy *string   `json:"answeredBy,omitempty"`
	AnsweredAt *ari.Time `json:"answeredAt,omitempty"`
}

// InputRequestOf is the client frame for a stored request.
func InputRequestOf(r ari.InputRequest) *InputRequest {
	return &InputRequest{RequestID: r.ID, MessageID: r.MessageID, ConversationID: r.ConversationID, Kind: r.Kind,
		Prompt: r.Prompt, Options: r.Options, Schema: r.Schema, ExpiresAt: r.ExpiresAt}
}

func (*AgentInputRequest) FrameType() string { return TypeAgentInputRequest }
func (*InputRequest) FrameType() string      { return TypeInputRequest }
func (*InputAnswer) FrameType() string       { return TypeInputResponse }
func (*InputResponse) FrameType() string     { return TypeInputResponse }
func (*InputTimeout) FrameType() string      { return TypeInputTimeout }

func decodeAgentInputRequest(o *object) Frame {
	f := &AgentInputRequest{}
	f.TaskID = o.refID("taskId")
	f.RequestID = o.id("requestId", true)
	f.Kind = o.str("kind", true, 32)
	if o.err == nil && f.Kind != InputQuestion && f.Kind != InputApproval {
		o.fail("kind", "must be %q or %q", InputQuestion, InputApproval)
	}
	f.Prompt = o.str("prompt", true, ari.MaxInputPromptBytes)
	if o.err == nil && strings.TrimSpace(f.Prompt) == "" {
		o.fail("prompt", "is empty")
	}
	if v := o.raw("options", false); v != nil {
		if f.Kind != InputQuestion {
			o.fail("options", "only a question has options")
			return nil
		}
		var items []json.RawMessage
		if v[0] != '[' || json.Unmarshal(v, &items) != nil {
			o.fail("options", "must be an array of strings")
			return nil
		}
		if len(items) == 0 || len(items) > ari.MaxInputOptions {
			o.fail("options", "must have 1 to %d items", ari.MaxInputOptions)
			return nil
		}
		seen := map[string]bool{}
		for i, item := range items {
			field := fmt.Sprintf("options[%d]", i)
			s := o.strValue(field, item, ari.MaxInputOptionBytes)
			if o.err != nil {
				return nil
			}
			if strings.TrimSpace(s) == "" {
				o.fail(field, "is empty")
				return nil
			}
			if seen[s] {
				o.fail(field, "repeats %q", s)
				return nil
			}
			seen[s] = true
			f.Options = append(f.Options, s)
		}
	}
	if v := o.raw("schema", false); v != nil {
		if f.Kind != InputQuestion {
			o.fail("schema", "only a question has a schema")
			return nil
		}
		if v[0] != '{' {
			o.fail("schema", "must be a JSON object")
			return nil
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			o.fail("schema", "must be a JSON object")
			return nil
		}
		if compact.Len() > ari.MaxInputSchemaBytes {
			o.fail("schema", "exceeds %d bytes", ari.MaxInputSchemaBytes)
			return nil
		}
		f.Schema = json.RawMessage(compact.Bytes())
	}
	return f
}

func decodeInputAnswer(o *object) Frame {
	f := &InputAnswer{}
	f.RequestID = o.refID("requestId")
	if v := o.raw("answer", false); v != nil {
		s := o.strValue("answer", v, ari.MaxInputAnswerBytes)
		f.Answer = &s
	}
	if v := o.raw("approved", false); v != nil {
		b := o.boolean("approved", false)
		f.Approved = &b
	}
	if o.err == nil && f.Answer == nil && f.Approved == nil {
		o.fail("answer", "answer or approved is required")
	}
	return f
}

func init() {
	agentDecoders[TypeAgentInputRequest] = decodeAgentInputRequest
	clientDecoders[TypeInputResponse] = decodeInputAnswer
	relayFrames[TypeInputRequest] = func() Frame { return &InputRequest{} }
	relayFrames[TypeInputResponse] = func() Frame { return &InputResponse{} }
	relayFrames[TypeInputTimeout] = func() Frame { return &InputTimeout{} }
}
