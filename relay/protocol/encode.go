package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Encode renders f as one frame: its fields with "type" first. HTML is not
// escaped, so text costs no more bytes than it must.
func Encode(f Frame) ([]byte, error) {
	if f == nil || f.FrameType() == "" {
		return nil, fmt.Errorf("protocol: encode a frame without a type")
	}
	if sr, ok := f.(*SyncResult); ok {
		f = sr.withEmptyLists()
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("protocol: encode %s: %w", f.FrameType(), err)
	}
	fields := bytes.TrimSpace(body.Bytes())
	if len(fields) < 2 || fields[0] != '{' {
		return nil, fmt.Errorf("protocol: encode %s: not a JSON object", f.FrameType())
	}
	typ, err := json.Marshal(f.FrameType())
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(fields)+len(typ)+9)
	out = append(out, `{"type":`...)
	out = append(out, typ...)
	if rest := fields[1:]; len(rest) > 1 { // more than the closing brace
		out = append(out, ',')
		out = append(out, rest...)
	} else {
		out = append(out, '}')
	}
	return out, nil
}

// withEmptyLists makes nil lists travel as [] rather than null, so clients
// can iterate without a check.
func (r *SyncResult) withEmptyLists() *SyncResult {
	c := *r
	if c.Conversations == nil {
		c.Conversations = []ConversationState{}
	}
	if c.Channels == nil {
		c.Channels = []ChannelState{}
	}
	if c.ActiveStreams == nil {
		c.ActiveStreams = []ActiveStream{}
	}
	if c.Agents == nil {
		c.Agents = []AgentOnline{}
	}
	if c.InputRequests == nil {
		c.InputRequests = []InputRequest{}
	}
	if c.AppSessions == nil {
		c.AppSessions = []ari.AppSessionView{}
	}
	if c.Events == nil {
		c.Events = []json.RawMessage{}
	}
	return &c
}

// DecodeFromRelay parses a frame the relay sent, on either socket, for Go
// clients, the agent SDK and tests. It is lenient: unknown types are an
// unknown_type error the caller may ignore, unknown keys are ignored, and no
// bounds are checked, because a reader should survive a newer relay.
func DecodeFromRelay(data []byte) (Frame, error) {
	m, perr := envelope(data)
	if perr != nil {
		return nil, perr
	}
	o := &object{m: m}
	typ := o.str("type", true, 64)
	if o.err != nil {
		return nil, o.err
	}
	newFrame, ok := relayFrames[typ]
	if !ok {
		return nil, &Error{Code: CodeUnknownType, Message: fmt.Sprintf("unknown frame type %q", typ), Field: "type"}
	}
	f := newFrame()
	if e, ok := f.(*Event); ok {
		e.Type = typ
	}
	if err := json.Unmarshal(data, f); err != nil {
		return nil, &Error{Code: CodeInvalidFrame, Message: fmt.Sprintf("%s: %v", typ, err)}
	}
	return f, nil
}

func init() {
	for _, typ := range EventTypes {
		relayFrames[typ] = func() Frame { return &Event{} }
	}
}

var relayFrames = map[string]func() Frame{
	TypeMessageAck:      func() Frame { return &MessageAck{} },
	TypeStreamStart:     func() Frame { return &StreamStart{} },
	TypeStreamChunk:     func() Frame { return &StreamChunk{} },
	TypeStreamEnd:       func() Frame { return &StreamEnd{} },
	TypeSyncResult:      func() Frame { return &SyncResult{} },
	TypeError:           func() Frame { return &ErrorFrame{} },
	TypePong:            func() Frame { return &Pong{} },
	TypeSyncNeeded:      func() Frame { return &SyncNeeded{} },
	TypeAuthOK:          func() Frame { return &AuthOK{} },
	TypeAuthError:       func() Frame { return &AuthError{} },
	TypeTask:            func() Frame { return &Task{} },
	TypeTaskCancel:      func() Frame { return &TaskCancel{} },
	TypeStreamStatus:    func() Frame { return &StreamStatus{} },
	TypeAgentPresence:   func() Frame { return &AgentPresence{} },
	TypeAgentMessageAck: func() Frame { return &AgentMessageAck{} },
}
