package a2a

import (
	"encoding/json"
	"strings"
)

// Dialect is one of the three A2A JSON-RPC wire dialects seen in the wild.
type Dialect string

const (
	// V1 is spec v1.0: SendStreamingMessage, ProtoJSON enums, parts without kind.
	V1 Dialect = "1.0"
	// V03 is spec v0.2–v0.3: message/stream, objects tagged with kind.
	V03 Dialect = "0.3"
	// V01 is spec v0.1: tasks/sendSubscribe, the client names the task.
	V01 Dialect = "0.1"
)

// ladder is the step-down order: a dialect is only ever replaced by a later one.
var ladder = []Dialect{V1, V03, V01}

func (d Dialect) streamMethod() string {
	switch d {
	case V1:
		return "SendStreamingMessage"
	case V03:
		return "message/stream"
	default:
		return "tasks/sendSubscribe"
	}
}

func (d Dialect) cancelMethod() string {
	if d == V1 {
		return "CancelTask"
	}
	return "tasks/cancel"
}

// versionHeader is the A2A-Version value to send. SDK 1.3 routes by this
// header, not by method name, and wants exactly "1.0"; older dialects send
// none, which SDK 1.3's compat layer reads as 0.3 and older servers ignore.
func (d Dialect) versionHeader() string {
	if d == V1 {
		return "1.0"
	}
	return ""
}

// historyKey names the message metadata entry that carries the conversation
// so far. A2A has no field for prior turns of a chat the agent did not keep
// itself, so they travel as metadata the agent may read or ignore.
const historyKey = "ari.history"

// streamParams builds the params object of the streaming call.
func (d Dialect) streamParams(t Task, tenant string) any {
	meta := map[string]any{}
	if len(t.History) > 0 {
		meta[historyKey] = t.History
	}
	switch d {
	case V1:
		parts := []any{map[string]any{"text": t.Text}}
		if len(t.Data) > 0 {
			parts = append(parts, map[string]any{"data": t.Data})
		}
		msg := map[string]any{
			"messageId": t.MessageID,
			"role":      "ROLE_USER",
			"parts":     parts,
			"contextId": t.contextID(),
		}
		if t.RemoteTaskID != "" {
			msg["taskId"] = t.RemoteTaskID
		}
		if len(meta) > 0 {
			msg["metadata"] = meta
		}
		p := map[string]any{
			"message":       msg,
			"configuration": map[string]any{"acceptedOutputModes": []string{"text/plain"}, "historyLength": 0},
			"metadata":      map[string]any{},
		}
		if tenant != "" {
			p["tenant"] = tenant
		}
		return p
	case V03:
		parts := []any{map[string]any{"kind": "text", "text": t.Text}}
		if len(t.Data) > 0 {
			parts = append(parts, map[string]any{"kind": "data", "data": t.Data})
		}
		msg := map[string]any{
			"kind":      "message",
			"messageId": t.MessageID,
			"role":      "user",
			"parts":     parts,
			"contextId": t.contextID(),
		}
		if t.RemoteTaskID != "" {
			msg["taskId"] = t.RemoteTaskID
		}
		if len(meta) > 0 {
			msg["metadata"] = meta
		}
		return map[string]any{
			"message":       msg,
			"configuration": map[string]any{"acceptedOutputModes": []string{"text/plain"}, "blocking": false, "historyLength": 0},
			"metadata":      map[string]any{},
		}
	default:
		parts := []any{map[string]any{"type": "text", "text": t.Text}}
		if len(t.Data) > 0 {
			parts = append(parts, map[string]any{"type": "data", "data": t.Data})
		}
		msg := map[string]any{
			"role":  "user",
			"parts": parts,
		}
		if len(meta) > 0 {
			msg["metadata"] = meta
		}
		return map[string]any{
			"id":            d.taskName(t),
			"sessionId":     t.contextID(),
			"message":       msg,
			"historyLength": 0,
			"metadata":      map[string]any{},
		}
	}
}

// contextID is the context a call names: the agent's own for an answer to
// its input-required task (it may have chosen one), else the conversation.
func (t Task) contextID() string {
	if t.RemoteTaskID != "" && t.RemoteContextID != "" {
		return t.RemoteContextID
	}
	return t.ConversationID
}

// taskName is the task id a v0.1 call names. v0.1 has no server-minted
// task id: answering an input-required task means sending to the same id
// again.
func (Dialect) taskName(t Task) string {
	if t.RemoteTaskID != "" {
		return t.RemoteTaskID
	}
	return t.TaskID
}

// normState maps every dialect's state spelling to the v0.3 one:
// TASK_STATE_INPUT_REQUIRED → input-required.
func normState(s string) string {
	s = strings.TrimPrefix(s, "TASK_STATE_")
	return strings.ReplaceAll(strings.ToLower(s), "_", "-")
}

// wire shapes, loose enough for all three dialects at once.
type wirePart struct {
	Kind string          `json:"kind"` // v0.3
	Type string          `json:"type"` // v0.1
	Text *string         `json:"text"`
	Data json.RawMessage `json:"data"` // a data part (v1.0 keyed by member name; kind/type "data" before)
}

type wireMessage struct {
	Role      string     `json:"role"`
	Parts     []wirePart `json:"parts"`
	ContextID string     `json:"contextId"`
}

type wireStatus struct {
	State   string       `json:"state"`
	Message *wireMessage `json:"message"`
}

type wireArtifact struct {
	ArtifactID string     `json:"artifactId"`
	Index      *int       `json:"index"` // v0.1 key
	Parts      []wirePart `json:"parts"`
	Append     bool       `json:"append"`    // v0.1 keeps it inside
	LastChunk  bool       `json:"lastChunk"` // v0.1 keeps it inside
}

type wireTask struct {
	ID        string         `json:"id"`
	ContextID string         `json:"contextId"`
	SessionID string         `json:"sessionId"` // v0.1's context
	Status    *wireStatus    `json:"status"`
	Artifacts []wireArtifact `json:"artifacts"`
}

type wireStatusUpdate struct {
	TaskID    string      `json:"taskId"`
	ContextID string      `json:"contextId"`
	Status    *wireStatus `json:"status"`
}

type wireArtifactUpdate struct {
	TaskID   string        `json:"taskId"`
	Artifact *wireArtifact `json:"artifact"`
	Append   bool          `json:"append"`
}

// partsText joins every text part: the stored Task keeps streamed chunks
// as separate parts, so concatenation restores the text.
func partsText(parts []wirePart) (string, bool) {
	var b strings.Builder
	found := false
	for _, p := range parts {
		if p.Text != nil && (p.Kind == "" || p.Kind == "text") && (p.Type == "" || p.Type == "text") {
			b.WriteString(*p.Text)
			found = true
		}
	}
	return b.String(), found
}

// partsData returns the data parts' values (an agent's form, its options):
// JSON that travels as is.
func partsData(parts []wirePart) []json.RawMessage {
	var out []json.RawMessage
	for _, p := range parts {
		if len(p.Data) > 0 && p.Text == nil && (p.Kind == "" || p.Kind == "data") && (p.Type == "" || p.Type == "data") {
			out = append(out, p.Data)
		}
	}
	return out
}

func (m *wireMessage) agentData() []json.RawMessage {
	if m == nil || strings.EqualFold(strings.TrimPrefix(m.Role, "ROLE_"), "user") {
		return nil
	}
	return partsData(m.Parts)
}

func (m *wireMessage) agentText() (string, bool) {
	if m == nil {
		return "", false
	}
	switch strings.ToLower(strings.TrimPrefix(m.Role, "ROLE_")) {
	case "user":
		return "", false
	}
	return partsText(m.Parts)
}

func (a wireArtifact) key() string {
	if a.ArtifactID != "" {
		return a.ArtifactID
	}
	if a.Index != nil {
		b, _ := json.Marshal(*a.Index)
		return "#" + string(b)
	}
	return ""
}
