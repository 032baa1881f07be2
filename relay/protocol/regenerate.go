package protocol

// Regenerate (PROTOCOL.md section 10): a member asks for a new answer to the
// conversation's latest message from a person. The types live here, and
// register themselves with the decoders, so the frame tables stay one line
// per concept.

// TypeRegenerate (client → relay) and TypeRegenerateAck (relay → client).
const (
	TypeRegenerate    = "regenerate"
	TypeRegenerateAck = "regenerate_ack"
)

// Regenerate asks for a new version of an agent's answer. MessageID names
// the person's message or any version of a reply to it; AgentID picks the
// agent when several answered the person's message.
type Regenerate struct {
	ConversationID string `json:"conversationId"`
	MessageID      string `json:"messageId"`
	AgentID        string `json:"agentId,omitempty"`
}

// RegenerateAck confirms a stored regenerate: Reply is the new version (its
// id is the messageId of its stream frames), Version its number and
// PreviousID the version it supersedes.
type RegenerateAck struct {
	ConversationID string   `json:"conversationId"`
	MessageID      string   `json:"messageId"`
	ReplyToID      string   `json:"replyToId"`
	Reply          AckReply `json:"reply"`
	Version        int      `json:"version"`
	PreviousID     string   `json:"previousId"`
	Queued         bool     `json:"queued"`
}

// TaskRegenerate marks a task that writes a new version of an answer, so the
// agent can answer differently: the previous version's id and text (cut to
// HistoryBytes at a character boundary).
type TaskRegenerate struct {
	Version         int    `json:"version"`
	PreviousReplyID string `json:"previousReplyId"`
	PreviousContent string `json:"previousContent"`
}

func (*Regenerate) FrameType() string    { return TypeRegenerate }
func (*RegenerateAck) FrameType() string { return TypeRegenerateAck }

func decodeRegenerate(o *object) Frame {
	f := &Regenerate{}
	f.ConversationID = o.id("conversationId", true)
	f.MessageID = o.refID("messageId")
	f.AgentID = o.id("agentId", false)
	return f
}

func init() {
	clientDecoders[TypeRegenerate] = decodeRegenerate
	relayFrames[TypeRegenerateAck] = func() Frame { return &RegenerateAck{} }
}
