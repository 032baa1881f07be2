package protocol

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

var at = Time{time.Date(2026, 3, 1, 9, 30, 0, 120_000_000, time.FixedZone("CET", 3600))}

func sampleMessage() Message {
	return Message{
		ID: "m1", ConversationID: "c1", Seq: 7,
		Sender:  Sender{ID: "u1", Kind: KindUser, Name: "Ada"},
		Content: "Hi <b>&</b> 👋", Status: StatusComplete, ClientMessageID: "cm1",
		Attachments: []Attachment{{ID: "a1", URL: "https://files.example/a1", ContentType: "image/png", Size: 1234, Name: "cat.png"}},
		CreatedAt:   at,
	}
}

// relayFramesSample has one of every frame the relay sends.
func relayFramesSample() []Frame {
	r := Reaction{ConversationID: "c1", MessageID: "m1", UserID: "u1", Emoji: "👍"}
	ra, rr := ReactionAdded(r), ReactionRemoved(r)
	return []Frame{
		&MessageAck{ClientMessageID: "cm1", Message: sampleMessage(), Queued: true, Position: 2},
		&StreamStart{ConversationID: "c1", MessageID: "r1", AgentID: "ag1", Seq: 8, ReplyTo: "m1"},
		&StreamChunk{MessageID: "r1", ConversationID: "c1", Delta: "é", Offset: 5},
		&StreamEnd{MessageID: "r1", ConversationID: "c1", Status: StatusError, Content: "Hel", Error: &StreamError{Code: StreamErrAgentTimeout, Message: "agent silent"}},
		&SyncResult{
			Conversations: []ConversationState{{ConversationID: "c1", LastSeq: 8, LastReadSeq: 6, UnreadCount: 2}},
			ActiveStreams: []ActiveStream{{MessageID: "r1", ConversationID: "c1", AgentID: "ag1", Content: "Hé", Offset: 3}},
			Events:        []json.RawMessage{json.RawMessage(`{"type":"conversation_deleted","conversationId":"c9"}`)},
			Dropped:       true,
		},
		&ErrorFrame{Code: CodeNotFound, Message: "conversation not found", Ref: "cm1"},
		&Pong{},
		&MessageNew{ConversationID: "c1", Message: sampleMessage()},
		&MessageDeleted{ConversationID: "c1", MessageID: "m1", Seq: 7},
		&ra, &rr,
		&ReadUpdated{ConversationID: "c1", UserID: "u1", Seq: 8},
		&MemberAdded{ConversationID: "c1", Member: Member{ID: "ag2", Kind: KindAgent, Name: "Helper"}},
		&MemberRemoved{ConversationID: "c1", MemberID: "u2", Kind: KindUser},
		&ConversationUpdated{Conversation: Conversation{ID: "c1", Kind: KindGroup, Title: "Team", UpdatedAt: at}},
		&ConversationDeleted{ConversationID: "c1"},
		&AuthOK{Agent: AgentInfo{ID: "ag1", Name: "Echo Bot", Handle: "echo-bot"}, Protocol: Version},
		&AuthError{Code: CodeUnauthorized, Message: "invalid token"},
		&Task{TaskID: "t1", ConversationID: "c1", MessageID: "r1",
			Message: TaskMessage{ID: "m1", Seq: 7, Content: "hi", Sender: Sender{ID: "u1", Name: "Ada"}, Attachments: []Attachment{}},
			History: []HistoryEntry{{Role: RoleUser, SenderName: "Ada", Content: "earlier", Seq: 5}},
			Tools:   json.RawMessage(`[{"name":"move"}]`)},
		&TaskCancel{TaskID: "t1", Reason: CancelUser},
	}
}

func TestEncodeRoundTripFromRelay(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range relayFramesSample() {
		b, err := Encode(f)
		if err != nil {
			t.Fatalf("encode %T: %v", f, err)
		}
		var env struct{ Type string }
		if err := json.Unmarshal(b, &env); err != nil || env.Type != f.FrameType() {
			t.Fatalf("%T: envelope %s", f, b)
		}
		got, err := DecodeFromRelay(b)
		if err != nil {
			t.Fatalf("decode %s: %v", b, err)
		}
		// Times come back in UTC; compare the encoded forms instead of values.
		b2, err := Encode(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != string(b2) {
			t.Fatalf("round trip of %T changed:\n%s\n%s", f, b, b2)
		}
		seen[f.FrameType()] = true
	}
	for typ := range relayFrames {
		if !seen[typ] {
			t.Errorf("no sample of relay frame %q", typ)
		}
	}
}

func TestEncodeExactBytes(t *testing.T) {
	cases := []struct {
		f    Frame
		want string
	}{
		{&Pong{}, `{"type":"pong"}`},
		{&StreamChunk{MessageID: "r1", ConversationID: "c1", Delta: "<é>", Offset: 0}, `{"type":"stream_chunk","messageId":"r1","conversationId":"c1","delta":"<é>","offset":0}`},
		{&Focus{Visible: true}, `{"type":"focus","conversationId":null,"visible":true}`},
		{&SyncResult{}, `{"type":"sync_result","conversations":[],"activeStreams":[],"events":[],"dropped":false}`},
		{&ConversationUpdated{Conversation: Conversation{ID: "c1", Kind: KindGroup, UpdatedAt: at}},
			`{"type":"conversation_updated","conversation":{"id":"c1","kind":"group","updatedAt":"2026-03-01T08:30:00.120Z"}}`},
		{&AgentComplete{TaskID: "t1", Content: ptr("")}, `{"type":"agent_complete","taskId":"t1","content":""}`},
	}
	for _, tc := range cases {
		b, err := Encode(tc.f)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("Encode(%T)\n got %s\nwant %s", tc.f, b, tc.want)
		}
	}
	if _, err := Encode(nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}

// Every frame a peer sends survives Encode → Decode unchanged, so the Go SDK
// and test clients can build frames with the same types the relay reads.
func TestEncodePeerFrames(t *testing.T) {
	client := []Frame{
		&SendMessage{ConversationID: "c1", Content: "hi", ClientMessageID: "m1", Attachments: []string{"a1"}},
		&Sync{Cursors: map[string]int64{"c1": 3}}, &Sync{},
		&CancelStream{MessageID: "r1"}, &MarkRead{ConversationID: "c1", Seq: 3},
		&Focus{ConversationID: ptr("c1"), Visible: true}, &Focus{}, &Ping{},
	}
	agent := []Frame{
		&Auth{Token: "ari_x"}, &Skills{Skills: []Skill{{Name: "a", Description: "b"}}},
		&AgentChunk{TaskID: "t1", Content: "x", Mode: ModeAccumulated}, &AgentChunk{TaskID: "t1", Content: ""},
		&AgentComplete{TaskID: "t1"}, &AgentComplete{TaskID: "t1", Content: ptr("done")},
		&AgentError{TaskID: "t1", Error: "boom"}, &Ping{},
	}
	check := func(decode func([]byte) (Frame, error), frames []Frame) {
		for _, f := range frames {
			b, err := Encode(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decode(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			if !reflect.DeepEqual(got, f) {
				t.Fatalf("round trip %s:\n got %#v\nwant %#v", b, got, f)
			}
		}
	}
	check(DecodeClient, client)
	check(DecodeAgent, agent)
}

func TestDecodeFromRelayLenient(t *testing.T) {
	f, err := DecodeFromRelay([]byte(`{"type":"stream_chunk","messageId":"r1","delta":"x","offset":3,"new":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if c := f.(*StreamChunk); c.Delta != "x" || c.Offset != 3 {
		t.Fatalf("got %#v", c)
	}
	for _, in := range []string{`{"type":"brand_new"}`, `{"type":"send_message"}`} {
		_, err := DecodeFromRelay([]byte(in))
		if perr, ok := err.(*Error); !ok || perr.Code != CodeUnknownType {
			t.Errorf("%s: got %v, want unknown_type", in, err)
		}
	}
	if _, err := DecodeFromRelay([]byte(`{"type":"stream_chunk","offset":"3"}`)); err == nil {
		t.Error("wrong JSON type accepted")
	}
}
