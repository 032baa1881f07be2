package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/textcheck"
)

// Decoding policy: a frame must be one JSON object in valid UTF-8 with a known
// "type". Required keys must be present, non-null and of the right JSON type;
// every value is bounds-checked. Keys the decoder does not know are ignored, so
// a newer peer can add optional fields without breaking an older relay. Keys
// match exactly (encoding/json's case-insensitive matching is not used), so
// "ConversationId" is an unknown key, not an alias.

// DecodeClient parses a frame received on the client socket.
func DecodeClient(data []byte) (Frame, error) {
	return decodeWith(data, MaxClientFrameBytes, clientDecoders)
}

// DecodeAgent parses a frame received on the agent socket.
func DecodeAgent(data []byte) (Frame, error) {
	return decodeWith(data, MaxAgentFrameBytes, agentDecoders)
}

type decoder func(o *object) Frame

var clientDecoders = map[string]decoder{
	TypeSendMessage:  decodeSendMessage,
	TypeSync:         decodeSync,
	TypeCancelStream: decodeCancelStream,
	TypeMarkRead:     decodeMarkRead,
	TypeFocus:        decodeFocus,
	TypeAuth:         decodeTicketAuth,
	TypePing:         func(*object) Frame { return &Ping{} },
}

var agentDecoders = map[string]decoder{
	TypeAuth:          decodeAuth,
	TypeSkills:        decodeSkills,
	TypeAgentChunk:    decodeAgentChunk,
	TypeAgentComplete: decodeAgentComplete,
	TypeAgentError:    decodeAgentError,
	TypeAgentStatus:   decodeAgentStatus,
	TypeAgentMessage:  decodeAgentMessage,
	TypePing:          func(*object) Frame { return &Ping{} },
}

func decodeWith(data []byte, limit int, decoders map[string]decoder) (Frame, error) {
	if len(data) > limit {
		return nil, &Error{Code: CodeFrameTooLarge, Message: fmt.Sprintf("frame exceeds %d bytes", limit)}
	}
	m, perr := envelope(data)
	if perr != nil {
		return nil, perr
	}
	// Every string of the frame, known key or not, at any depth: valid
	// UTF-8, no U+0000, no lone surrogate escape. A bad type is refused at
	// once; anything else after the frame's own checks, so the error carries
	// the frame's ref.
	text := textcheck.JSON(data)
	if text != nil && text.Field == "type" {
		return nil, &Error{Code: CodeInvalidFrame, Field: "type", Message: "type: " + text.Problem}
	}
	o := &object{m: m}
	typ := o.str("type", true, 64)
	if o.err != nil {
		return nil, o.err
	}
	dec, ok := decoders[typ]
	if !ok {
		return nil, &Error{Code: CodeUnknownType, Message: fmt.Sprintf("unknown frame type %q", typ), Field: "type"}
	}
	f := dec(o)
	if o.err == nil && text != nil {
		field := text.Field
		if field == "" {
			field = "frame" // a key at the top level
		}
		o.fail(field, "%s", text.Problem)
	}
	if o.err != nil {
		o.err.Ref = o.ref
		return nil, o.err
	}
	return f, nil
}

// envelope splits a frame into its top-level keys. It decides as
// json.Unmarshal into a map[string]json.RawMessage did (invalid JSON, a
// value that is no object, the last of a repeated key wins, keys unescaped)
// without copying each value and building a map: every chunk an agent
// streams is a frame (README, "The relay's tail"). The values view data.
func envelope(data []byte) ([]member, *Error) {
	// Invalid UTF-8 outside strings fails as JSON here; inside a string it is
	// left to the text check, which names the field.
	if !json.Valid(data) {
		return nil, &Error{Code: CodeInvalidJSON, Message: "frame is not valid JSON"}
	}
	i := skipSpace(data, 0)
	if data[i] != '{' { // null, an array, a string, a number, a boolean
		return nil, &Error{Code: CodeInvalidFrame, Message: "frame must be a JSON object"}
	}
	ms := make([]member, 0, 8)
	i = skipSpace(data, i+1)
	if data[i] == '}' {
		return ms, nil
	}
	for {
		end := stringEnd(data, i)
		key := data[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			s, _ := jsonString(data[i:end]) // valid: checked above
			key = []byte(s)
		}
		i = skipSpace(data, end)
		i = skipSpace(data, i+1) // the colon
		end = valueEnd(data, i)
		ms = append(ms, member{key: key, value: data[i:end:end]})
		i = skipSpace(data, end)
		if data[i] == '}' {
			return ms, nil
		}
		i = skipSpace(data, i+1) // the comma
	}
}

// member is one key of a frame (its text, decoded only when it holds an
// escape) and its value, as they stand in the frame.
type member struct {
	key   []byte
	value json.RawMessage
}

// The scanners below walk JSON that json.Valid accepted.

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string literal starting at i.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// valueEnd returns the index just past the value starting at i.
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return i
			}
			i++
		}
		return i
	}
}

// object reads typed, checked values out of a frame's keys. The first failure
// is kept in err and later reads become no-ops, so a decoder reads straight
// through and checks once.
type object struct {
	m   []member
	err *Error
	ref string // the id this frame is about, once read and valid
}

func (o *object) fail(field, format string, args ...any) {
	if o.err == nil {
		o.err = &Error{Code: CodeInvalidFrame, Field: field, Message: field + ": " + fmt.Sprintf(format, args...)}
	}
}

// raw returns the value of key, or nil when it is absent or null; a missing
// required key is a failure.
func (o *object) raw(key string, required bool) json.RawMessage {
	if o.err != nil {
		return nil
	}
	var v json.RawMessage
	ok := false
	for i := len(o.m) - 1; i >= 0; i-- { // the last of a repeated key wins
		if string(o.m[i].key) == key {
			v, ok = o.m[i].value, true
			break
		}
	}
	if !ok || bytes.Equal(v, []byte("null")) {
		if required {
			o.fail(key, "is required")
		}
		return nil
	}
	return v
}

// kept is raw for a value the frame keeps: a copy, not a view of the
// frame's bytes.
func (o *object) kept(key string) json.RawMessage {
	return bytes.Clone(o.raw(key, false))
}

func (o *object) str(key string, required bool, maxBytes int) string {
	return o.strValue(key, o.raw(key, required), maxBytes)
}

func (o *object) strValue(field string, v json.RawMessage, maxBytes int) string {
	if v == nil {
		return ""
	}
	s, ok := plainString(v)
	if !ok {
		s, ok = jsonString(v)
	}
	if !ok {
		o.fail(field, "must be a string")
		return ""
	}
	if len(s) > maxBytes {
		o.fail(field, "exceeds %d bytes", maxBytes)
		return ""
	}
	return s
}

// plainString returns the text of v, a JSON string literal that the frame's
// parse found well formed, when it holds no escape and is valid UTF-8: its
// bytes are then its text, as encoding/json would decode it, without the
// decoder's allocations (every agent_chunk's content comes here).
func plainString(v json.RawMessage) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	body := v[1 : len(v)-1]
	if bytes.IndexByte(body, '\\') >= 0 || !utf8.Valid(body) {
		return "", false
	}
	return string(body), true
}

// jsonString decodes v when it is a JSON string (in a function of its own:
// the decoder's target escapes to the heap, and only this path needs one).
func jsonString(v json.RawMessage) (string, bool) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// id reads an id: 1..MaxIDBytes of [A-Za-z0-9_-]. The charset keeps ids safe
// inside Redis keys, whose {hash tags} a brace in an id would break.
func (o *object) id(key string, required bool) string {
	return o.idValue(key, o.raw(key, required))
}

func (o *object) idValue(field string, v json.RawMessage) string {
	if v == nil {
		return ""
	}
	s := o.strValue(field, v, MaxIDBytes)
	if o.err == nil && !ari.ValidID(s) {
		o.fail(field, "must be 1-%d characters of A-Z a-z 0-9 _ -", MaxIDBytes)
		return ""
	}
	return s
}

// refID reads an id and remembers it as the frame's ref.
func (o *object) refID(key string) string {
	s := o.id(key, true)
	if o.err == nil {
		o.ref = s
	}
	return s
}

func (o *object) integer(key string, required bool, min, max int64) int64 {
	v := o.raw(key, required)
	if v == nil {
		return 0
	}
	var n int64
	if json.Unmarshal(v, &n) != nil {
		o.fail(key, "must be an integer")
		return 0
	}
	if n < min || n > max {
		o.fail(key, "must be between %d and %d", min, max)
		return 0
	}
	return n
}

func (o *object) boolean(key string, required bool) bool {
	v := o.raw(key, required)
	if v == nil {
		return false
	}
	var b bool
	if json.Unmarshal(v, &b) != nil {
		o.fail(key, "must be true or false")
	}
	return b
}

func decodeSendMessage(o *object) Frame {
	f := &SendMessage{}
	f.ClientMessageID = o.refID("clientMessageId")
	f.ConversationID = o.id("conversationId", true)
	f.Content = o.str("content", true, MaxContentBytes)
	f.Attachments = o.attachments()
	if o.err == nil && strings.TrimSpace(f.Content) == "" && len(f.Attachments) == 0 {
		o.fail("content", "is empty and there are no attachments")
	}
	return f
}

// attachments reads the optional "attachments": at most MaxAttachments
// ids, no repeats.
func (o *object) attachments() []string {
	v := o.raw("attachments", false)
	if v == nil {
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(v, &items) != nil {
		o.fail("attachments", "must be an array of ids")
		return nil
	}
	if len(items) > MaxAttachments {
		o.fail("attachments", "has more than %d items", MaxAttachments)
		return nil
	}
	var out []string
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		field := fmt.Sprintf("attachments[%d]", i)
		if item == nil || bytes.Equal(item, []byte("null")) {
			o.fail(field, "is required")
			return nil
		}
		id := o.idValue(field, item)
		if o.err != nil {
			return nil
		}
		if seen[id] {
			o.fail(field, "repeats %q", id)
			return nil
		}
		seen[id] = true
		out = append(out, id)
	}
	return out
}

func decodeSync(o *object) Frame {
	f := &Sync{}
	v := o.raw("cursors", false)
	if v == nil {
		return f
	}
	var items map[string]json.RawMessage
	if v[0] != '{' || json.Unmarshal(v, &items) != nil {
		o.fail("cursors", "must be an object of conversationId to seq")
		return nil
	}
	if len(items) > MaxCursors {
		o.fail("cursors", "has more than %d entries", MaxCursors)
		return nil
	}
	for k, raw := range items {
		field := "cursors." + k
		if !ari.ValidID(k) {
			o.fail("cursors", "key %q is not a valid conversationId", k)
			return nil
		}
		var n int64
		if json.Unmarshal(raw, &n) != nil || bytes.Equal(raw, []byte("null")) {
			o.fail(field, "must be an integer")
			return nil
		}
		if n < 0 || n > MaxSeq {
			o.fail(field, "must be between 0 and %d", int64(MaxSeq))
			return nil
		}
		if f.Cursors == nil {
			f.Cursors = make(map[string]int64, len(items))
		}
		f.Cursors[k] = n
	}
	return f
}

func decodeCancelStream(o *object) Frame {
	return &CancelStream{MessageID: o.refID("messageId")}
}

func decodeMarkRead(o *object) Frame {
	f := &MarkRead{}
	f.ConversationID = o.refID("conversationId")
	f.Seq = o.integer("seq", true, 1, MaxSeq)
	return f
}

func decodeFocus(o *object) Frame {
	f := &Focus{}
	if v := o.raw("conversationId", false); v != nil {
		id := o.idValue("conversationId", v)
		f.ConversationID = &id
	}
	f.Visible = o.boolean("visible", true)
	return f
}

func decodeAuth(o *object) Frame {
	f := &Auth{Token: o.str("token", true, MaxTokenBytes)}
	if o.err == nil && f.Token == "" {
		o.fail("token", "is empty")
	}
	return f
}

func decodeTicketAuth(o *object) Frame {
	f := &TicketAuth{Ticket: o.str("ticket", true, MaxTokenBytes)}
	if o.err == nil && f.Ticket == "" {
		o.fail("ticket", "is empty")
	}
	return f
}

func decodeSkills(o *object) Frame {
	f := &Skills{Skills: []Skill{}}
	v := o.raw("skills", true)
	if v == nil {
		return f
	}
	var items []json.RawMessage
	if v[0] != '[' || json.Unmarshal(v, &items) != nil {
		o.fail("skills", "must be an array")
		return nil
	}
	if len(items) > MaxSkills {
		o.fail("skills", "has more than %d items", MaxSkills)
		return nil
	}
	seen := make(map[string]bool, len(items))
	for i, item := range items {
		prefix := fmt.Sprintf("skills[%d]", i)
		m, perr := envelope(item)
		if perr != nil {
			o.fail(prefix, "must be an object")
			return nil
		}
		so := &object{m: m}
		s := Skill{
			Name:        so.str("name", true, MaxSkillNameBytes),
			Description: so.str("description", false, MaxSkillDescriptionBytes),
		}
		if so.err == nil && strings.TrimSpace(s.Name) == "" {
			so.fail("name", "is empty")
		}
		if so.err == nil && seen[s.Name] {
			so.fail("name", "repeats %q", s.Name)
		}
		if so.err != nil {
			so.err.Field = prefix + "." + so.err.Field
			so.err.Message = prefix + "." + so.err.Message
			o.err = so.err
			return nil
		}
		seen[s.Name] = true
		f.Skills = append(f.Skills, s)
	}
	return f
}

func decodeAgentChunk(o *object) Frame {
	f := &AgentChunk{}
	f.TaskID = o.refID("taskId")
	f.Content = o.str("content", true, MaxReplyBytes)
	f.Mode = o.str("mode", false, 32)
	if o.err == nil && f.Mode != "" && f.Mode != ModeDelta && f.Mode != ModeAccumulated {
		o.fail("mode", "must be %q or %q", ModeDelta, ModeAccumulated)
	}
	return f
}

func decodeAgentComplete(o *object) Frame {
	f := &AgentComplete{}
	f.TaskID = o.refID("taskId")
	if v := o.raw("content", false); v != nil {
		s := o.strValue("content", v, MaxReplyBytes)
		f.Content = &s
	}
	return f
}

func decodeAgentError(o *object) Frame {
	f := &AgentError{}
	f.TaskID = o.refID("taskId")
	f.Error = o.str("error", true, MaxAgentErrorBytes)
	return f
}

func decodeAgentStatus(o *object) Frame {
	f := &AgentStatus{}
	f.TaskID = o.refID("taskId")
	f.State = o.str("state", true, 32)
	if o.err == nil && !ValidState(f.State) {
		o.fail("state", "must be %q, %q, %q or %q", StateThinking, StateTool, StateWriting, StateWaiting)
	}
	f.Label = o.str("label", false, MaxStatusLabelBytes)
	return f
}

func decodeAgentMessage(o *object) Frame {
	f := &AgentMessage{}
	f.ClientMessageID = o.refID("clientMessageId")
	f.ConversationID = o.id("conversationId", true)
	f.Content = o.str("content", true, MaxContentBytes)
	if o.err == nil && strings.TrimSpace(f.Content) == "" {
		o.fail("content", "is empty")
	}
	return f
}
