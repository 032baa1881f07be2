package protocol

import (
	"bytes"
	"encoding/json"

	"github.com/ari-chat/ari-server/shared/appbridge"
)

// App events (PROTOCOL.md section 15, "A person's actions and the app's
// events"): the client running an app reports what its member did in it
// (app_user_action, checked by the bridge as actor user) and what the app
// reports about itself (app_state_event, one of its declared events); each
// accepted report is acknowledged with app_event_ack, recorded, and given to
// the session's agent as app_event while it writes a reply in the
// conversation, and in the history of its next tasks.
const (
	TypeAppUserAction = "app_user_action" // client → relay
	TypeAppStateEvent = "app_state_event" // client → relay
	TypeAppEventAck   = "app_event_ack"   // relay → client
	TypeAppEvent      = "app_event"       // relay → agent
)

// Codes of refused reports besides the bridge's (forbidden_by_mode,
// unknown_action, forbidden_by_manifest, invalid_arguments, not_json …).
const (
	// CodeUnknownEvent: app_state_event names no event the app declares.
	CodeUnknownEvent = "unknown_event"
	// CodeInvalidData: app_state_event data with duplicate keys or nested
	// deeper than 32 levels.
	CodeInvalidData = "invalid_data"
	// CodeAppSessionEnded: the session has ended; nothing was recorded.
	CodeAppSessionEnded = "app_session_ended"
)

// AppUserAction reports an action the member invoked in the app.
type AppUserAction struct {
	SessionID string          `json:"sessionId"`
	ID        string          `json:"id"`
	Action    string          `json:"action"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
}

// AppStateEvent reports one of the app's declared events.
type AppStateEvent struct {
	SessionID string          `json:"sessionId"`
	ID        string          `json:"id"`
	Event     string          `json:"event"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// AppEventAck accepts a report (recorded once, however often it is sent).
type AppEventAck struct {
	SessionID string `json:"sessionId"`
	ID        string `json:"id"`
	At        string `json:"at"`
}

// AppEvent tells the agent, while it works on TaskID, what happened in an
// app session of the task's conversation: the bridge's structured entry
// (appbridge.HistoryEvent) with the task, conversation and session.
type AppEvent struct {
	TaskID         string              `json:"taskId"`
	ConversationID string              `json:"conversationId"`
	SessionID      string              `json:"sessionId"`
	App            string              `json:"app"`
	Kind           appbridge.EventKind `json:"kind"`
	Name           string              `json:"name"`
	Actor          appbridge.Actor     `json:"actor,omitempty"`
	Data           json.RawMessage     `json:"data,omitempty"`
	DataOmitted    bool                `json:"dataOmitted,omitempty"`
	At             string              `json:"at,omitempty"`
	Text           string              `json:"text"`
}

// NewAppEvent is the frame for entry h.
func NewAppEvent(taskID, convID, sessionID string, h appbridge.HistoryEvent) *AppEvent {
	return &AppEvent{TaskID: taskID, ConversationID: convID, SessionID: sessionID, App: h.App, Kind: h.Kind, Name: h.Name,
		Actor: h.Actor, Data: h.Data, DataOmitted: h.DataOmitted, At: h.At, Text: h.Text}
}

// Entry is the bridge's structured entry of the event.
func (f *AppEvent) Entry() appbridge.HistoryEvent {
	return appbridge.HistoryEvent{Type: appbridge.HistoryEventType, App: f.App, Kind: f.Kind, Name: f.Name, Actor: f.Actor,
		Data: f.Data, DataOmitted: f.DataOmitted, At: f.At, Text: f.Text}
}

func (*AppUserAction) FrameType() string { return TypeAppUserAction }
func (*AppStateEvent) FrameType() string { return TypeAppStateEvent }
func (*AppEventAck) FrameType() string   { return TypeAppEventAck }
func (*AppEvent) FrameType() string      { return TypeAppEvent }

// maxAppNameBytes bounds action and event names on the wire; the bridge
// answers the precise rule ([a-z][a-z0-9_]{0,63}).
const maxAppNameBytes = 256

func decodeAppUserAction(o *object) Frame {
	f := &AppUserAction{}
	f.SessionID = o.id("sessionId", true)
	f.ID = o.refID("id")
	f.Action = o.str("action", true, maxAppNameBytes)
	// The bridge checks arguments (an object, size, depth, schema); absent
	// is {}.
	f.Arguments = o.kept("arguments")
	return f
}

func decodeAppStateEvent(o *object) Frame {
	f := &AppStateEvent{}
	f.SessionID = o.id("sessionId", true)
	f.ID = o.refID("id")
	f.Event = o.str("event", true, maxAppNameBytes)
	f.Data = o.kept("data") // any JSON value; null is no data
	return f
}

// HistoryEntry is one entry of Task.History, oldest first: an earlier
// message (Role, SenderName, Content, Seq), or, when AppEvent is set, an
// event of an app session of the conversation, encoded as the bridge's
// structured entry ({"type":"app_event", …}).
type HistoryEntry struct {
	Role       string `json:"role"`
	SenderName string `json:"senderName"`
	Content    string `json:"content"`
	Seq        int64  `json:"seq"`
	// AppEvent replaces the message fields when set.
	AppEvent *appbridge.HistoryEvent `json:"-"`
}

type historyMessage struct {
	Role       string `json:"role"`
	SenderName string `json:"senderName"`
	Content    string `json:"content"`
	Seq        int64  `json:"seq"`
}

func (h HistoryEntry) MarshalJSON() ([]byte, error) {
	if h.AppEvent != nil {
		e := *h.AppEvent
		e.Type = appbridge.HistoryEventType
		return json.Marshal(e)
	}
	return json.Marshal(historyMessage{Role: h.Role, SenderName: h.SenderName, Content: h.Content, Seq: h.Seq})
}

func (h *HistoryEntry) UnmarshalJSON(b []byte) error {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return err
	}
	if head.Type == appbridge.HistoryEventType {
		var e appbridge.HistoryEvent
		if err := json.Unmarshal(b, &e); err != nil {
			return err
		}
		*h = HistoryEntry{AppEvent: &e}
		return nil
	}
	var m historyMessage
	if err := json.Unmarshal(bytes.TrimSpace(b), &m); err != nil {
		return err
	}
	*h = HistoryEntry{Role: m.Role, SenderName: m.SenderName, Content: m.Content, Seq: m.Seq}
	return nil
}

func init() {
	clientDecoders[TypeAppUserAction] = decodeAppUserAction
	clientDecoders[TypeAppStateEvent] = decodeAppStateEvent
	relayFrames[TypeAppEventAck] = func() Frame { return &AppEventAck{} }
	relayFrames[TypeAppEvent] = func() Frame { return &AppEvent{} }
}
