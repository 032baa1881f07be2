package protocol

import (
	"encoding/json"

	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"reflect"
	"strings"
	"testing"
	"time"
)

var at = ari.T(time.Date(2026, 3, 1, 9, 30, 0, 120_000_000, time.FixedZone("CET", 3600)))

func sampleMessage() ari.Message {
	user, cm := "u1", "cm1"
	return ari.Message{
		ID: "m1", ConversationID: "c1", Seq: 7, Role: ari.RoleUser, SenderUserID: &user,
		Content: "Hi <b>&</b> 👋", Status: StatusComplete, ClientMessageID: &cm,
		CreatedAt: at, UpdatedAt: at,
	}
}

func sampleAppSession(version int64) ari.AppSessionView {
	u, ag := "u1", "ag1"
	return ari.AppSessionView{AppSession: ari.AppSession{ID: "as1", ConversationID: "c1", AppID: "app1", AppVersionID: "av1",
		OpenedBy: &u, AgentID: &ag, Mode: "shared", State: json.RawMessage(`{"board":"e4"}`), Version: version, CreatedAt: at, UpdatedAt: at},
		AppSlug: "chess", AppName: "Chess", AppVersion: "1.0.0", EntryURL: "https://chess.example/app"}
}

func event(t *testing.T, typ string, data any) *Event {
	t.Helper()
	e := &Event{Type: typ, ID: "ev-" + typ, ConversationID: "c1", At: at}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		e.Data = b
	}
	return e
}

// channelEvent is event for a community channel's event.
func channelEvent(t *testing.T, typ string, data any) *Event {
	e := event(t, typ, data)
	e.ConversationID, e.ChannelID = "", "ch1"
	return e
}

// relayFramesSample has one of every frame the relay sends.
func relayFramesSample(t *testing.T) []Frame {
	r := ReactionData{MessageID: "m1", UserID: "u1", Emoji: "👍"}
	conv := ConversationData{Conversation: Conversation{ID: "c1", Kind: KindGroup, Title: "Team", UpdatedAt: at}}
	return []Frame{
		&MessageAck{ClientMessageID: "cm1", Message: sampleMessage(), Queued: true, Position: 2},
		&StreamStart{ConversationID: "c1", MessageID: "r1", AgentID: "ag1", Seq: 8, ReplyToID: "m1"},
		&StreamChunk{MessageID: "r1", ConversationID: "c1", Delta: "é", Offset: 5},
		&StreamEnd{MessageID: "r1", ConversationID: "c1", Status: StatusError, Content: "Hel", Error: &StreamError{Code: StreamErrAgentTimeout, Message: "agent silent"}},
		&SyncResult{
			Conversations: []ConversationState{{ConversationID: "c1", LastSeq: 8, LastReadSeq: 6, UnreadCount: 2}},
			Channels:      []ChannelState{{ChannelID: "ch1", CommunityID: "co1", LastSeq: 12, LastReadSeq: 9, UnreadCount: 3}},
			ActiveStreams: []ActiveStream{{MessageID: "r1", ConversationID: "c1", AgentID: "ag1", Content: "Hé", Offset: 3}},
			Events:        []json.RawMessage{json.RawMessage(`{"type":"conversation_deleted","id":"e1","conversationId":"c9","at":"2026-03-01T08:30:00.120Z"}`)},
			Dropped:       true,
		},
		&ErrorFrame{Code: CodeNotFound, Message: "conversation not found", Ref: "cm1"},
		&Pong{},
		&SyncNeeded{},
		event(t, TypeMessageNew, MessageNewData{Message: sampleMessage()}),
		event(t, TypeMessageDeleted, MessageDeletedData{MessageID: "m1", Seq: 7}),
		event(t, TypeReactionAdded, r), event(t, TypeReactionRemoved, r),
		event(t, TypeReadUpdated, ReadUpdatedData{UserID: "u1", Seq: 8}),
		event(t, TypeMemberAdded, MemberAddedData{Member: Member{ID: "ag2", Kind: KindAgent, Name: "Helper"}}),
		event(t, TypeMemberRemoved, MemberRemovedData{MemberID: "u2", Kind: KindUser}),
		event(t, TypeConversationCreated, conv), event(t, TypeConversationUpdated, conv),
		event(t, TypeConversationDeleted, nil),
		event(t, TypeChainLimit, ChainLimitData{ConversationID: "c1", MessageID: "r9", Hops: 4}),
		channelEvent(t, TypeChannelMessageNew, map[string]any{"message": map[string]any{"id": "cm1", "seq": 3}}),
		channelEvent(t, TypeChannelMessageDeleted, map[string]any{"messageId": "cm1"}),
		channelEvent(t, TypeChannelReactionAdded, r), channelEvent(t, TypeChannelReactionRemoved, r),
		channelEvent(t, TypeChannelInputResolved, InputResolvedData{RequestID: "q1", MessageID: "cr1", State: "expired"}),
		&ChannelSubscribed{ChannelID: "ch1", CommunityID: "co1", LastSeq: 9, LastReadSeq: 4},
		&ChannelMessageAck{ClientMessageID: "cm9", Message: ChannelMessage{ChannelMessage: ari.ChannelMessage{ID: "m9", ChannelID: "ch1",
			Seq: 10, SenderUserID: ptr("u1"), Content: "hi @bob", ClientMessageID: ptr("cm9"), CreatedAt: at, UpdatedAt: at},
			Attachments: []ari.Attachment{}}},
		&ChannelUnsubscribed{ChannelID: "ch1", Reason: UnsubscribedRemoved},
		&ChannelSubscribed{ChannelID: "ch1", CommunityID: "co1", LastSeq: 9, LastReadSeq: 4,
			Stream: &ChannelStream{MessageID: "cr1", AgentID: "ag1", Content: "Hé", Offset: 3, Status: &ReplyStatus{State: StateWriting}}},
		&ChannelSubscribed{ChannelID: "ch1", CommunityID: "co1", LastSeq: 9, LastReadSeq: 4,
			Stream: &ChannelStream{MessageID: "cr1", AgentID: "ag1", Content: "Hé", Offset: 3, Status: &ReplyStatus{State: StateWaiting},
				InputRequest: &ChannelInputRequest{ChannelID: "ch1", RequestID: "q1", MessageID: "cr1", AgentID: "ag1", Kind: InputApproval,
					Prompt: "Ok?", ExpiresAt: at}}},
		&ChannelStreamStart{ChannelID: "ch1", MessageID: "cr1", AgentID: "ag1", ReplyToID: "cm1", ChainHop: 1, ChainRootID: "cm0"},
		&ChannelStreamChunk{ChannelID: "ch1", MessageID: "cr1", Delta: "Hé", Offset: 0},
		&ChannelStreamStatus{ChannelID: "ch1", MessageID: "cr1", State: StateTool, Label: "Searching"},
		&ChannelStreamEnd{ChannelID: "ch1", MessageID: "cr1", Status: StatusError, Content: "Hé", Seq: 10,
			Error: &StreamError{Code: StreamErrInterrupted, Message: "stopped"}},
		&ChannelChainLimit{ChannelID: "ch1", MessageID: "cr1", Hops: 4},
		&ChannelInputRequest{ChannelID: "ch1", RequestID: "q1", MessageID: "cr1", AgentID: "a1", Kind: InputQuestion,
			Prompt: "Wann?", Options: []string{"heute", "morgen"}, ExpiresAt: at},
		&Task{TaskID: "cr1", MessageID: "cr1",
			Message: TaskMessage{ID: "cm1", Seq: 9, Content: "@echo-bot hi", Sender: Sender{ID: "u1", Name: "Ada"}, Attachments: []Attachment{}},
			History: []HistoryEntry{}, Channel: &TaskChannel{ID: "ch1", Name: "general", CommunityID: "co1", CommunityName: "Rust"}},
		&AuthOK{Agent: AgentInfo{ID: "ag1", Name: "Echo Bot", Handle: "echo-bot"}, Protocol: Version},
		&AuthError{Code: CodeUnauthorized, Message: "invalid token"},
		&Task{TaskID: "t1", ConversationID: "c1", MessageID: "r1",
			Message: TaskMessage{ID: "m1", Seq: 7, Content: "hi", Sender: Sender{ID: "u1", Name: "Ada"}, Attachments: []Attachment{}},
			History: []HistoryEntry{{Role: RoleUser, SenderName: "Ada", Content: "earlier", Seq: 5},
				{AppEvent: &appbridge.HistoryEvent{Type: appbridge.HistoryEventType, App: "chess", Kind: appbridge.EventAction, Name: "move",
					Actor: appbridge.ActorUser, Data: json.RawMessage(`{"from":"e2","to":"e4"}`), At: "2025-03-04T04:06:07.891Z", Text: "[app chess] user invoked move"}}},
			Tools: json.RawMessage(`[{"name":"move"}]`)},
		&TaskCancel{TaskID: "t1", Reason: CancelUser},
		&StreamStatus{MessageID: "r1", ConversationID: "c1", State: StateTool, Label: "Searching"},
		&AgentPresence{ConversationID: "c1", AgentID: "ag1", Online: true},
		&RegenerateAck{ConversationID: "c1", MessageID: "m1", ReplyToID: "m1", Reply: AckReply{MessageID: "r2", AgentID: "ag1", Position: 1},
			Version: 2, PreviousID: "r1", Queued: true},
		&Task{TaskID: "t2", ConversationID: "c1", MessageID: "r2",
			Message: TaskMessage{ID: "m1", Seq: 7, Content: "hi", Sender: Sender{ID: "u1", Name: "Ada"}, Attachments: []Attachment{}},
			History: []HistoryEntry{}, Regenerate: &TaskRegenerate{Version: 2, PreviousReplyID: "r1", PreviousContent: "hello"}},
		&AgentMessageAck{ClientMessageID: "am-1", MessageID: "m9", Seq: 9},
		&InputRequest{RequestID: "q1", MessageID: "r1", ConversationID: "c1", Kind: InputQuestion, Prompt: "Which?",
			Options: []string{"a", "b"}, Schema: json.RawMessage(`{"type":"string"}`), ExpiresAt: at},
		&InputResponse{TaskID: "t1", RequestID: "q1", Answer: ptr("a"), UserID: "u1"},
		&InputTimeout{TaskID: "t1", RequestID: "q1"},
		&ToolResult{TaskID: "t1", CallID: "call_1", Result: json.RawMessage(`{"ok":true}`)},
		&AppAction{SessionID: "s1", CallID: "call_1", Action: "move", Arguments: json.RawMessage(`{"from":"e2","to":"e4"}`)},
		&AppEventAck{SessionID: "s1", ID: "ua-1", At: "2025-03-04T04:06:07.891Z"},
		&AppEvent{TaskID: "t1", ConversationID: "c1", SessionID: "s1", App: "chess", Kind: appbridge.EventState, Name: "game_over",
			DataOmitted: true, At: "2025-03-04T04:06:07.891Z", Text: "[app chess] state game_over (data too large)"},
		event(t, TypeInputResolved, InputResolvedData{RequestID: "q1", MessageID: "r1", State: "answered", Answer: ptr("a")}),
		event(t, TypeAppSessionStarted, AppSessionData{Session: sampleAppSession(1)}),
		event(t, TypeAppSessionUpdated, AppSessionData{Session: sampleAppSession(2)}),
		event(t, TypeAppSessionEnded, AppSessionData{Session: sampleAppSession(2)}),
		&SyncResult{AppSessions: []ari.AppSessionView{sampleAppSession(2)}},
	}
}

func TestEncodeRoundTripFromRelay(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range relayFramesSample(t) {
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
		{&SyncNeeded{}, `{"type":"sync_needed"}`},
		{&StreamChunk{MessageID: "r1", ConversationID: "c1", Delta: "<é>", Offset: 0}, `{"type":"stream_chunk","messageId":"r1","conversationId":"c1","delta":"<é>","offset":0}`},
		{&Focus{Visible: true}, `{"type":"focus","conversationId":null,"visible":true}`},
		{&SyncResult{}, `{"type":"sync_result","conversations":[],"channels":[],"activeStreams":[],"agents":[],"inputRequests":[],"appSessions":[],"events":[],"dropped":false}`},
		{&Event{Type: TypeConversationDeleted, ID: "e1", ConversationID: "c1", At: at},
			`{"type":"conversation_deleted","id":"e1","conversationId":"c1","at":"2026-03-01T08:30:00.120Z"}`},
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
	if _, err := Encode(&Event{ID: "e1"}); err == nil {
		t.Error("Encode of an event without a type succeeded")
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
		&ChannelSend{ChannelID: "ch1", Content: "hi", ClientMessageID: "m2", Attachments: []string{"a1"}},
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

// Events published by functions (shared/events) are event frames as they are:
// the relay forwards their bytes, and DecodeFromRelay reads them.
func TestSharedEventsAreFrames(t *testing.T) {
	ev, err := events.New(events.ReadUpdated, "c1", ReadUpdatedData{UserID: "u1", Seq: 4})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	f, err := DecodeFromRelay(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	e := f.(*Event)
	if e.Type != TypeReadUpdated || e.ID != ev.ID || e.ConversationID != "c1" || ari.FormatTime(e.At.Time) != ari.FormatTime(ev.At.Time) {
		t.Fatalf("got %+v from %s", e, raw)
	}
	var data ReadUpdatedData
	if err := json.Unmarshal(e.Data, &data); err != nil || data != (ReadUpdatedData{UserID: "u1", Seq: 4}) {
		t.Fatalf("data %s: %v", e.Data, err)
	}
	again, err := Encode(e)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, raw, again) {
		t.Fatalf("re-encoded event differs:\n%s\n%s", raw, again)
	}
	for _, typ := range EventTypes {
		if !strings.Contains(eventTypesOfShared, `"`+typ+`"`) {
			t.Errorf("event type %q is not one of shared/events' types", typ)
		}
	}
}

var eventTypesOfShared = func() string {
	var b strings.Builder
	for _, t := range []events.Type{events.MessageNew, events.MessageDeleted, events.ReactionAdded,
		events.ReactionRemoved, events.ReadUpdated, events.MemberAdded, events.MemberRemoved,
		events.ConversationCreated, events.ConversationUpdated, events.ConversationDeleted, events.ChainLimit,
		events.InputResolved, events.AppSessionStarted, events.AppSessionUpdated, events.AppSessionEnded,
		events.ChannelMessageNew, events.ChannelMessageDeleted, events.ChannelReactionAdded,
		events.ChannelReactionRemoved, events.ChannelInputResolved} {
		b.WriteString(`"` + string(t) + `"`)
	}
	return b.String()
}()
