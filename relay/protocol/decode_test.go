package protocol

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func ptr(s string) *string { return &s }

type decodeCase struct {
	name  string
	in    string
	want  Frame  // when the frame is valid
	code  string // when it is not
	field string
	ref   string
}

func runDecodeCases(t *testing.T, decode func([]byte) (Frame, error), cases []decodeCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decode([]byte(tc.in))
			if tc.want != nil {
				if err != nil {
					t.Fatalf("decode %s: %v", tc.in, err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("decode %s:\n got %#v\nwant %#v", tc.in, got, tc.want)
				}
				return
			}
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("decode %s: got (%#v, %v), want *Error %s", tc.in, got, err, tc.code)
			}
			if got != nil {
				t.Errorf("decode %s: frame %#v returned with an error", tc.in, got)
			}
			if perr.Code != tc.code || perr.Field != tc.field || perr.Ref != tc.ref {
				t.Fatalf("decode %s: got code=%q field=%q ref=%q (%s), want code=%q field=%q ref=%q",
					tc.in, perr.Code, perr.Field, perr.Ref, perr.Message, tc.code, tc.field, tc.ref)
			}
			if perr.Message == "" {
				t.Errorf("decode %s: empty message", tc.in)
			}
		})
	}
}

func TestDecodeEnvelope(t *testing.T) {
	big := `{"type":"ping","pad":"` + strings.Repeat("x", MaxClientFrameBytes) + `"}`
	runDecodeCases(t, DecodeClient, []decodeCase{
		{name: "ping", in: `{"type":"ping"}`, want: &Ping{}},
		{name: "extra keys ignored", in: `{"type":"ping","future":{"a":[1]}}`, want: &Ping{}},
		{name: "whitespace", in: " \n{ \"type\" : \"ping\" }\n", want: &Ping{}},
		{name: "not json", in: `{"type":`, code: CodeInvalidJSON},
		{name: "empty", in: ``, code: CodeInvalidJSON},
		{name: "trailing value", in: `{"type":"ping"}{}`, code: CodeInvalidJSON},
		{name: "invalid utf8 in a string", in: "{\"type\":\"ping\",\"x\":\"\xff\"}", code: CodeInvalidFrame, field: "x"},
		{name: "invalid utf8 outside strings", in: "{\"type\":\"ping\",\"x\":\xff}", code: CodeInvalidJSON},
		{name: "array", in: `[{"type":"ping"}]`, code: CodeInvalidFrame},
		{name: "string", in: `"ping"`, code: CodeInvalidFrame},
		{name: "null", in: `null`, code: CodeInvalidFrame},
		{name: "no type", in: `{"conversationId":"c1"}`, code: CodeInvalidFrame, field: "type"},
		{name: "null type", in: `{"type":null}`, code: CodeInvalidFrame, field: "type"},
		{name: "number type", in: `{"type":7}`, code: CodeInvalidFrame, field: "type"},
		{name: "unknown type", in: `{"type":"launch_rockets"}`, code: CodeUnknownType, field: "type"},
		{name: "type case matters", in: `{"type":"PING"}`, code: CodeUnknownType, field: "type"},
		{name: "type key case matters", in: `{"Type":"ping"}`, code: CodeInvalidFrame, field: "type"},
		{name: "agent type on client socket", in: `{"type":"agent_chunk","taskId":"t","content":"x"}`, code: CodeUnknownType, field: "type"},
		{name: "too large", in: big, code: CodeFrameTooLarge},
	})
}

func TestDecodeSendMessage(t *testing.T) {
	long := strings.Repeat("é", MaxContentBytes/2) // exactly MaxContentBytes bytes
	runDecodeCases(t, DecodeClient, []decodeCase{
		{name: "valid", in: `{"type":"send_message","conversationId":"c_1","content":"hi 👋","clientMessageId":"m-1"}`,
			want: &SendMessage{ConversationID: "c_1", Content: "hi 👋", ClientMessageID: "m-1"}},
		{name: "attachments", in: `{"type":"send_message","conversationId":"c1","content":"see","clientMessageId":"m1","attachments":["a1","a2"]}`,
			want: &SendMessage{ConversationID: "c1", Content: "see", ClientMessageID: "m1", Attachments: []string{"a1", "a2"}}},
		{name: "attachments only", in: `{"type":"send_message","conversationId":"c1","content":"","clientMessageId":"m1","attachments":["a1"]}`,
			want: &SendMessage{ConversationID: "c1", ClientMessageID: "m1", Attachments: []string{"a1"}}},
		{name: "empty attachments is none", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":[]}`,
			want: &SendMessage{ConversationID: "c1", Content: "x", ClientMessageID: "m1"}},
		{name: "null attachments is none", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":null}`,
			want: &SendMessage{ConversationID: "c1", Content: "x", ClientMessageID: "m1"}},
		{name: "content at limit", in: `{"type":"send_message","conversationId":"c1","content":"` + long + `","clientMessageId":"m1"}`,
			want: &SendMessage{ConversationID: "c1", Content: long, ClientMessageID: "m1"}},
		{name: "escapes", in: `{"type":"send_message","conversationId":"c1","content":"a\"b\\c\n\u00e9\ud83d\ude00","clientMessageId":"m1"}`,
			want: &SendMessage{ConversationID: "c1", Content: "a\"b\\c\né😀", ClientMessageID: "m1"}},
		{name: "content over limit", in: `{"type":"send_message","conversationId":"c1","content":"` + long + `x","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "missing clientMessageId", in: `{"type":"send_message","conversationId":"c1","content":"x"}`,
			code: CodeInvalidFrame, field: "clientMessageId"},
		{name: "clientMessageId too long", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"` + strings.Repeat("a", 65) + `"}`,
			code: CodeInvalidFrame, field: "clientMessageId"},
		{name: "clientMessageId bad char", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m 1"}`,
			code: CodeInvalidFrame, field: "clientMessageId"},
		{name: "clientMessageId empty", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":""}`,
			code: CodeInvalidFrame, field: "clientMessageId"},
		{name: "clientMessageId number", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":12}`,
			code: CodeInvalidFrame, field: "clientMessageId"},
		{name: "missing conversationId", in: `{"type":"send_message","content":"x","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "conversationId", ref: "m1"},
		{name: "conversationId with brace", in: `{"type":"send_message","conversationId":"c}1","content":"x","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "conversationId", ref: "m1"},
		{name: "missing content", in: `{"type":"send_message","conversationId":"c1","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "null content", in: `{"type":"send_message","conversationId":"c1","content":null,"clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "blank content", in: `{"type":"send_message","conversationId":"c1","content":" \n\t","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "content object", in: `{"type":"send_message","conversationId":"c1","content":{"text":"x"},"clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "attachments not array", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":"a1"}`,
			code: CodeInvalidFrame, field: "attachments", ref: "m1"},
		{name: "too many attachments", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":["a","b","c","d","e","f","g","h","i","j","k"]}`,
			code: CodeInvalidFrame, field: "attachments", ref: "m1"},
		{name: "attachment bad id", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":["a1","../x"]}`,
			code: CodeInvalidFrame, field: "attachments[1]", ref: "m1"},
		{name: "attachment null", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":[null]}`,
			code: CodeInvalidFrame, field: "attachments[0]", ref: "m1"},
		{name: "attachment repeated", in: `{"type":"send_message","conversationId":"c1","content":"x","clientMessageId":"m1","attachments":["a1","a1"]}`,
			code: CodeInvalidFrame, field: "attachments[1]", ref: "m1"},
	})
}

func TestDecodeOtherClientFrames(t *testing.T) {
	runDecodeCases(t, DecodeClient, []decodeCase{
		{name: "sync", in: `{"type":"sync"}`, want: &Sync{}},
		{name: "sync empty cursors", in: `{"type":"sync","cursors":{}}`, want: &Sync{}},
		{name: "sync cursors", in: `{"type":"sync","cursors":{"c1":4,"c2":0}}`, want: &Sync{Cursors: map[string]int64{"c1": 4, "c2": 0}}},
		{name: "sync cursors array", in: `{"type":"sync","cursors":[1]}`, code: CodeInvalidFrame, field: "cursors"},
		{name: "sync cursor negative", in: `{"type":"sync","cursors":{"c1":-1}}`, code: CodeInvalidFrame, field: "cursors.c1"},
		{name: "sync cursor string", in: `{"type":"sync","cursors":{"c1":"4"}}`, code: CodeInvalidFrame, field: "cursors.c1"},
		{name: "sync cursor fraction", in: `{"type":"sync","cursors":{"c1":1.5}}`, code: CodeInvalidFrame, field: "cursors.c1"},
		{name: "sync cursor null", in: `{"type":"sync","cursors":{"c1":null}}`, code: CodeInvalidFrame, field: "cursors.c1"},
		{name: "sync cursor bad key", in: `{"type":"sync","cursors":{"c{1}":1}}`, code: CodeInvalidFrame, field: "cursors"},

		{name: "cancel", in: `{"type":"cancel_stream","messageId":"r9"}`, want: &CancelStream{MessageID: "r9"}},
		{name: "cancel missing", in: `{"type":"cancel_stream"}`, code: CodeInvalidFrame, field: "messageId"},
		{name: "cancel number", in: `{"type":"cancel_stream","messageId":9}`, code: CodeInvalidFrame, field: "messageId"},
		{name: "regenerate", in: `{"type":"regenerate","conversationId":"c1","messageId":"m1"}`,
			want: &Regenerate{ConversationID: "c1", MessageID: "m1"}},
		{name: "regenerate agent", in: `{"type":"regenerate","conversationId":"c1","messageId":"m1","agentId":"a1"}`,
			want: &Regenerate{ConversationID: "c1", MessageID: "m1", AgentID: "a1"}},
		{name: "regenerate no message", in: `{"type":"regenerate","conversationId":"c1"}`, code: CodeInvalidFrame, field: "messageId"},
		{name: "regenerate no conversation", in: `{"type":"regenerate","messageId":"m1"}`, code: CodeInvalidFrame, field: "conversationId"},
		{name: "regenerate bad agent", in: `{"type":"regenerate","conversationId":"c1","messageId":"m1","agentId":"a b"}`, code: CodeInvalidFrame, field: "agentId", ref: "m1"},

		{name: "mark_read", in: `{"type":"mark_read","conversationId":"c1","seq":12}`, want: &MarkRead{ConversationID: "c1", Seq: 12}},
		{name: "mark_read max", in: `{"type":"mark_read","conversationId":"c1","seq":9007199254740991}`, want: &MarkRead{ConversationID: "c1", Seq: MaxSeq}},
		{name: "mark_read zero", in: `{"type":"mark_read","conversationId":"c1","seq":0}`, code: CodeInvalidFrame, field: "seq", ref: "c1"},
		{name: "mark_read over max", in: `{"type":"mark_read","conversationId":"c1","seq":9007199254740992}`, code: CodeInvalidFrame, field: "seq", ref: "c1"},
		{name: "mark_read string seq", in: `{"type":"mark_read","conversationId":"c1","seq":"12"}`, code: CodeInvalidFrame, field: "seq", ref: "c1"},
		{name: "mark_read exponent", in: `{"type":"mark_read","conversationId":"c1","seq":1e3}`, code: CodeInvalidFrame, field: "seq", ref: "c1"},
		{name: "mark_read missing seq", in: `{"type":"mark_read","conversationId":"c1"}`, code: CodeInvalidFrame, field: "seq", ref: "c1"},
		{name: "mark_read missing conversation", in: `{"type":"mark_read","seq":1}`, code: CodeInvalidFrame, field: "conversationId"},

		{name: "focus", in: `{"type":"focus","conversationId":"c1","visible":true}`, want: &Focus{ConversationID: ptr("c1"), Visible: true}},
		{name: "focus null", in: `{"type":"focus","conversationId":null,"visible":false}`, want: &Focus{}},
		{name: "focus absent conversation", in: `{"type":"focus","visible":true}`, want: &Focus{Visible: true}},
		{name: "focus missing visible", in: `{"type":"focus","conversationId":"c1"}`, code: CodeInvalidFrame, field: "visible"},
		{name: "focus visible string", in: `{"type":"focus","conversationId":"c1","visible":"yes"}`, code: CodeInvalidFrame, field: "visible"},
		{name: "focus empty conversation", in: `{"type":"focus","conversationId":"","visible":true}`, code: CodeInvalidFrame, field: "conversationId"},
	})
}

func TestDecodeAgentFrames(t *testing.T) {
	token := "ari_" + strings.Repeat("ab", 24)
	full := strings.Repeat("ü", MaxReplyBytes/2)
	runDecodeCases(t, DecodeAgent, []decodeCase{
		{name: "auth", in: `{"type":"auth","token":"` + token + `"}`, want: &Auth{Token: token}},
		{name: "auth missing", in: `{"type":"auth"}`, code: CodeInvalidFrame, field: "token"},
		{name: "auth empty", in: `{"type":"auth","token":""}`, code: CodeInvalidFrame, field: "token"},
		{name: "auth too long", in: `{"type":"auth","token":"` + strings.Repeat("a", MaxTokenBytes+1) + `"}`, code: CodeInvalidFrame, field: "token"},
		{name: "ping", in: `{"type":"ping"}`, want: &Ping{}},
		{name: "client type on agent socket", in: `{"type":"send_message","conversationId":"c","content":"x","clientMessageId":"m"}`, code: CodeUnknownType, field: "type"},

		{name: "skills", in: `{"type":"skills","skills":[{"name":"weather","description":"Forecasts"},{"name":"echo"}]}`,
			want: &Skills{Skills: []Skill{{Name: "weather", Description: "Forecasts"}, {Name: "echo"}}}},
		{name: "skills empty", in: `{"type":"skills","skills":[]}`, want: &Skills{Skills: []Skill{}}},
		{name: "skills missing", in: `{"type":"skills"}`, code: CodeInvalidFrame, field: "skills"},
		{name: "skills object", in: `{"type":"skills","skills":{"name":"x"}}`, code: CodeInvalidFrame, field: "skills"},
		{name: "skill not object", in: `{"type":"skills","skills":["x"]}`, code: CodeInvalidFrame, field: "skills[0]"},
		{name: "skill without name", in: `{"type":"skills","skills":[{"name":"a"},{"description":"d"}]}`, code: CodeInvalidFrame, field: "skills[1].name"},
		{name: "skill repeated", in: `{"type":"skills","skills":[{"name":"a"},{"name":"a"}]}`, code: CodeInvalidFrame, field: "skills[1].name"},
		{name: "skill description too long", in: `{"type":"skills","skills":[{"name":"a","description":"` + strings.Repeat("d", MaxSkillDescriptionBytes+1) + `"}]}`,
			code: CodeInvalidFrame, field: "skills[0].description"},

		{name: "chunk", in: `{"type":"agent_chunk","taskId":"t1","content":"Hel"}`, want: &AgentChunk{TaskID: "t1", Content: "Hel"}},
		{name: "chunk delta", in: `{"type":"agent_chunk","taskId":"t1","content":"lo","mode":"delta"}`, want: &AgentChunk{TaskID: "t1", Content: "lo", Mode: ModeDelta}},
		{name: "chunk accumulated", in: `{"type":"agent_chunk","taskId":"t1","content":"Hello","mode":"accumulated"}`, want: &AgentChunk{TaskID: "t1", Content: "Hello", Mode: ModeAccumulated}},
		{name: "chunk empty content", in: `{"type":"agent_chunk","taskId":"t1","content":""}`, want: &AgentChunk{TaskID: "t1"}},
		{name: "chunk at reply limit", in: `{"type":"agent_chunk","taskId":"t1","content":"` + full + `","mode":"accumulated"}`, want: &AgentChunk{TaskID: "t1", Content: full, Mode: ModeAccumulated}},
		{name: "chunk over reply limit", in: `{"type":"agent_chunk","taskId":"t1","content":"` + full + `!"}`, code: CodeInvalidFrame, field: "content", ref: "t1"},
		{name: "chunk bad mode", in: `{"type":"agent_chunk","taskId":"t1","content":"x","mode":"Delta"}`, code: CodeInvalidFrame, field: "mode", ref: "t1"},
		{name: "chunk missing content", in: `{"type":"agent_chunk","taskId":"t1"}`, code: CodeInvalidFrame, field: "content", ref: "t1"},
		{name: "chunk missing task", in: `{"type":"agent_chunk","content":"x"}`, code: CodeInvalidFrame, field: "taskId"},
		{name: "chunk task number", in: `{"type":"agent_chunk","taskId":1,"content":"x"}`, code: CodeInvalidFrame, field: "taskId"},

		{name: "complete", in: `{"type":"agent_complete","taskId":"t1"}`, want: &AgentComplete{TaskID: "t1"}},
		{name: "complete null content", in: `{"type":"agent_complete","taskId":"t1","content":null}`, want: &AgentComplete{TaskID: "t1"}},
		{name: "complete content", in: `{"type":"agent_complete","taskId":"t1","content":"Hello"}`, want: &AgentComplete{TaskID: "t1", Content: ptr("Hello")}},
		{name: "complete empty content", in: `{"type":"agent_complete","taskId":"t1","content":""}`, want: &AgentComplete{TaskID: "t1", Content: ptr("")}},
		{name: "complete content number", in: `{"type":"agent_complete","taskId":"t1","content":5}`, code: CodeInvalidFrame, field: "content", ref: "t1"},
		{name: "complete missing task", in: `{"type":"agent_complete"}`, code: CodeInvalidFrame, field: "taskId"},

		{name: "error", in: `{"type":"agent_error","taskId":"t1","error":"model overloaded"}`, want: &AgentError{TaskID: "t1", Error: "model overloaded"}},
		{name: "error missing text", in: `{"type":"agent_error","taskId":"t1"}`, code: CodeInvalidFrame, field: "error", ref: "t1"},
		{name: "error too long", in: `{"type":"agent_error","taskId":"t1","error":"` + strings.Repeat("e", MaxAgentErrorBytes+1) + `"}`, code: CodeInvalidFrame, field: "error", ref: "t1"},
		{name: "status", in: `{"type":"agent_status","taskId":"t1","state":"tool","label":"Searching"}`, want: &AgentStatus{TaskID: "t1", State: StateTool, Label: "Searching"}},
		{name: "status without label", in: `{"type":"agent_status","taskId":"t1","state":"waiting"}`, want: &AgentStatus{TaskID: "t1", State: StateWaiting}},
		{name: "status null label", in: `{"type":"agent_status","taskId":"t1","state":"writing","label":null}`, want: &AgentStatus{TaskID: "t1", State: StateWriting}},
		{name: "status label at the bound", in: `{"type":"agent_status","taskId":"t1","state":"thinking","label":"` + strings.Repeat("é", MaxStatusLabelBytes/2) + `"}`, want: &AgentStatus{TaskID: "t1", State: StateThinking, Label: strings.Repeat("é", MaxStatusLabelBytes/2)}},
		{name: "status label too long", in: `{"type":"agent_status","taskId":"t1","state":"tool","label":"` + strings.Repeat("l", MaxStatusLabelBytes+1) + `"}`, code: CodeInvalidFrame, field: "label", ref: "t1"},
		{name: "status unknown state", in: `{"type":"agent_status","taskId":"t1","state":"sleeping"}`, code: CodeInvalidFrame, field: "state", ref: "t1"},
		{name: "status state wrong type", in: `{"type":"agent_status","taskId":"t1","state":3}`, code: CodeInvalidFrame, field: "state", ref: "t1"},
		{name: "status missing state", in: `{"type":"agent_status","taskId":"t1"}`, code: CodeInvalidFrame, field: "state", ref: "t1"},
		{name: "status missing task", in: `{"type":"agent_status","state":"tool"}`, code: CodeInvalidFrame, field: "taskId"},
		{name: "status label not a string", in: `{"type":"agent_status","taskId":"t1","state":"tool","label":["x"]}`, code: CodeInvalidFrame, field: "label", ref: "t1"},
		{name: "status nul in label", in: `{"type":"agent_status","taskId":"t1","state":"tool","label":"a\u0000"}`, code: CodeInvalidFrame, field: "label", ref: "t1"},
		{name: "message", in: `{"type":"agent_message","conversationId":"c1","content":"Erinnerung: 9 Uhr","clientMessageId":"am-1"}`, want: &AgentMessage{ConversationID: "c1", Content: "Erinnerung: 9 Uhr", ClientMessageID: "am-1"}},
		{name: "message at the bound", in: `{"type":"agent_message","conversationId":"c1","content":"` + strings.Repeat("é", MaxContentBytes/2) + `","clientMessageId":"am-1"}`, want: &AgentMessage{ConversationID: "c1", Content: strings.Repeat("é", MaxContentBytes/2), ClientMessageID: "am-1"}},
		{name: "message too long", in: `{"type":"agent_message","conversationId":"c1","content":"` + strings.Repeat("x", MaxContentBytes+1) + `","clientMessageId":"am-1"}`, code: CodeInvalidFrame, field: "content", ref: "am-1"},
		{name: "message blank", in: `{"type":"agent_message","conversationId":"c1","content":" \n","clientMessageId":"am-1"}`, code: CodeInvalidFrame, field: "content", ref: "am-1"},
		{name: "message nul", in: `{"type":"agent_message","conversationId":"c1","content":"a\u0000","clientMessageId":"am-1"}`, code: CodeInvalidFrame, field: "content", ref: "am-1"},
		{name: "message bad conversation", in: `{"type":"agent_message","conversationId":"c{1}","content":"hi","clientMessageId":"am-1"}`, code: CodeInvalidFrame, field: "conversationId", ref: "am-1"},
		{name: "message missing client id", in: `{"type":"agent_message","conversationId":"c1","content":"hi"}`, code: CodeInvalidFrame, field: "clientMessageId"},
	})
}

func TestDecodeAgentFrameLimit(t *testing.T) {
	// A frame over the client limit is fine on the agent socket.
	content := strings.Repeat("a", MaxClientFrameBytes*2)
	f, err := DecodeAgent([]byte(`{"type":"agent_chunk","taskId":"t","content":"` + content + `"}`))
	if err != nil || f.(*AgentChunk).Content != content {
		t.Fatalf("large agent chunk: %v", err)
	}
	_, err = DecodeAgent([]byte(`{"type":"ping","pad":"` + strings.Repeat("a", MaxAgentFrameBytes) + `"}`))
	var perr *Error
	if !errors.As(err, &perr) || perr.Code != CodeFrameTooLarge {
		t.Fatalf("over agent limit: got %v, want %s", err, CodeFrameTooLarge)
	}
}

func TestErrorFrame(t *testing.T) {
	_, err := DecodeClient([]byte(`{"type":"send_message","conversationId":"c1","clientMessageId":"m1"}`))
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatalf("want *Error, got %v", err)
	}
	b, err := Encode(perr.Frame())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"error","code":"invalid_frame","message":"content: is required","field":"content","ref":"m1"}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	if !strings.Contains(perr.Error(), "content") {
		t.Fatalf("Error() = %q", perr.Error())
	}
}

// The text rule applies to every string of every frame, on both sockets:
// valid UTF-8, no U+0000, no lone surrogate escape; the error names the field
// and carries the frame's ref.
func TestDecodeHostileText(t *testing.T) {
	runDecodeCases(t, DecodeClient, []decodeCase{
		{name: "nul in content", in: `{"type":"send_message","conversationId":"c1","content":"a\u0000b","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "lone high surrogate", in: `{"type":"send_message","conversationId":"c1","content":"a\ud83d","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "lone low surrogate", in: `{"type":"send_message","conversationId":"c1","content":"\ude00!","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "surrogate pair is fine", in: `{"type":"send_message","conversationId":"c1","content":"\ud83d\ude00","clientMessageId":"m1"}`,
			want: &SendMessage{ConversationID: "c1", Content: "😀", ClientMessageID: "m1"}},
		{name: "truncated utf8", in: "{\"type\":\"send_message\",\"conversationId\":\"c1\",\"content\":\"ok\xc3\",\"clientMessageId\":\"m1\"}",
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "nul in an unknown key", in: `{"type":"ping","future":{"x":["\u0000"]}}`, code: CodeInvalidFrame, field: "future.x[0]"},
		{name: "nul in a key", in: `{"type":"ping","a\u0000":1}`, code: CodeInvalidFrame, field: "frame"},
		{name: "nul in type", in: `{"type":"ping\u0000"}`, code: CodeInvalidFrame, field: "type"},
		{name: "nul in id", in: `{"type":"cancel_stream","messageId":"m\u0000"}`, code: CodeInvalidFrame, field: "messageId"},
		{name: "bad id shape", in: `{"type":"cancel_stream","messageId":"%ff%fe"}`, code: CodeInvalidFrame, field: "messageId"},
		{name: "nul in cursor key", in: `{"type":"sync","cursors":{"c\u0000":1}}`, code: CodeInvalidFrame, field: "cursors"},
	})
	runDecodeCases(t, DecodeAgent, []decodeCase{
		{name: "nul in chunk", in: `{"type":"agent_chunk","taskId":"t1","content":"\u0000"}`, code: CodeInvalidFrame, field: "content", ref: "t1"},
		{name: "lone surrogate in chunk", in: `{"type":"agent_chunk","taskId":"t1","content":"x\udbff"}`, code: CodeInvalidFrame, field: "content", ref: "t1"},
		{name: "nul in complete", in: `{"type":"agent_complete","taskId":"t1","content":"ok\u0000"}`, code: CodeInvalidFrame, field: "content", ref: "t1"},
		{name: "nul in error", in: `{"type":"agent_error","taskId":"t1","error":"\u0000"}`, code: CodeInvalidFrame, field: "error", ref: "t1"},
		{name: "nul in skill", in: `{"type":"skills","skills":[{"name":"a"},{"name":"b","description":"\u0000"}]}`, code: CodeInvalidFrame, field: "skills[1].description"},
		{name: "nul in token", in: `{"type":"auth","token":"ari_\u0000"}`, code: CodeInvalidFrame, field: "token"},
	})
}

func TestDecodeInputFrames(t *testing.T) {
	yes := true
	runDecodeCases(t, DecodeAgent, []decodeCase{
		{name: "approval", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"approval","prompt":"Ok?"}`,
			want: &AgentInputRequest{TaskID: "t1", RequestID: "q1", Kind: InputApproval, Prompt: "Ok?"}},
		{name: "question", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"Which?","options":["a","b"],"schema":{ "type" : "string" }}`,
			want: &AgentInputRequest{TaskID: "t1", RequestID: "q1", Kind: InputQuestion, Prompt: "Which?", Options: []string{"a", "b"}, Schema: []byte(`{"type":"string"}`)}},
		{name: "prompt at the bound", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"approval","prompt":"` + strings.Repeat("é", 2048) + `"}`,
			want: &AgentInputRequest{TaskID: "t1", RequestID: "q1", Kind: InputApproval, Prompt: strings.Repeat("é", 2048)}},
		{name: "prompt too long", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"approval","prompt":"` + strings.Repeat("x", 4097) + `"}`, code: CodeInvalidFrame, field: "prompt", ref: "t1"},
		{name: "prompt blank", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"approval","prompt":" "}`, code: CodeInvalidFrame, field: "prompt", ref: "t1"},
		{name: "bad kind", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"poll","prompt":"x"}`, code: CodeInvalidFrame, field: "kind", ref: "t1"},
		{name: "bad request id", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q{1}","kind":"approval","prompt":"x"}`, code: CodeInvalidFrame, field: "requestId", ref: "t1"},
		{name: "options on approval", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"approval","prompt":"x","options":["a"]}`, code: CodeInvalidFrame, field: "options", ref: "t1"},
		{name: "schema on approval", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"approval","prompt":"x","schema":{}}`, code: CodeInvalidFrame, field: "schema", ref: "t1"},
		{name: "empty options", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","options":[]}`, code: CodeInvalidFrame, field: "options", ref: "t1"},
		{name: "too many options", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","options":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"]}`, code: CodeInvalidFrame, field: "options", ref: "t1"},
		{name: "repeated option", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","options":["a","a"]}`, code: CodeInvalidFrame, field: "options[1]", ref: "t1"},
		{name: "option not a string", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","options":[1]}`, code: CodeInvalidFrame, field: "options[0]", ref: "t1"},
		{name: "option too long", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","options":["` + strings.Repeat("o", 201) + `"]}`, code: CodeInvalidFrame, field: "options[0]", ref: "t1"},
		{name: "schema not an object", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","schema":"string"}`, code: CodeInvalidFrame, field: "schema", ref: "t1"},
		{name: "schema too large", in: `{"type":"agent_input_request","taskId":"t1","requestId":"q1","kind":"question","prompt":"x","schema":{"d":"` + strings.Repeat("s", 8192) + `"}}`, code: CodeInvalidFrame, field: "schema", ref: "t1"},
	})
	runDecodeCases(t, DecodeClient, []decodeCase{
		{name: "answer", in: `{"type":"input_response","requestId":"q1","answer":"rot"}`, want: &InputAnswer{RequestID: "q1", Answer: ptr("rot")}},
		{name: "approval", in: `{"type":"input_response","requestId":"q1","approved":true}`, want: &InputAnswer{RequestID: "q1", Approved: &yes}},
		{name: "neither", in: `{"type":"input_response","requestId":"q1"}`, code: CodeInvalidFrame, field: "answer", ref: "q1"},
		{name: "approved not a boolean", in: `{"type":"input_response","requestId":"q1","approved":"yes"}`, code: CodeInvalidFrame, field: "approved", ref: "q1"},
		{name: "answer too long", in: `{"type":"input_response","requestId":"q1","answer":"` + strings.Repeat("a", 8193) + `"}`, code: CodeInvalidFrame, field: "answer", ref: "q1"},
		{name: "missing request", in: `{"type":"input_response","answer":"x"}`, code: CodeInvalidFrame, field: "requestId"},
	})
}

// channel_send is checked as send_message is, with channelId.
func TestDecodeChannelSend(t *testing.T) {
	long := strings.Repeat("é", MaxContentBytes/2)
	runDecodeCases(t, DecodeClient, []decodeCase{
		{name: "valid", in: `{"type":"channel_send","channelId":"ch_1","content":"hi @bob","clientMessageId":"m-1"}`,
			want: &ChannelSend{ChannelID: "ch_1", Content: "hi @bob", ClientMessageID: "m-1"}},
		{name: "attachments only", in: `{"type":"channel_send","channelId":"ch1","content":"","clientMessageId":"m1","attachments":["a1"]}`,
			want: &ChannelSend{ChannelID: "ch1", ClientMessageID: "m1", Attachments: []string{"a1"}}},
		{name: "missing channelId", in: `{"type":"channel_send","content":"x","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "channelId", ref: "m1"},
		{name: "bad channelId", in: `{"type":"channel_send","channelId":"nicht gültig","content":"x","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "channelId", ref: "m1"},
		{name: "blank", in: `{"type":"channel_send","channelId":"ch1","content":"  ","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "content over limit", in: `{"type":"channel_send","channelId":"ch1","content":"` + long + `x","clientMessageId":"m1"}`,
			code: CodeInvalidFrame, field: "content", ref: "m1"},
		{name: "repeated attachment", in: `{"type":"channel_send","channelId":"ch1","content":"x","clientMessageId":"m1","attachments":["a1","a1"]}`,
			code: CodeInvalidFrame, field: "attachments[1]", ref: "m1"},
		{name: "missing clientMessageId", in: `{"type":"channel_send","channelId":"ch1","content":"x"}`,
			code: CodeInvalidFrame, field: "clientMessageId"},
	})
}
