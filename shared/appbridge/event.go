package appbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Bounds on what one app event may add to an agent's context.
const (
	// MaxEventTextBytes bounds FormatEvent's line, ellipsis included.
	MaxEventTextBytes = 512
	// MaxEventDataBytes bounds the structured data kept in a HistoryEvent;
	// larger data is dropped (the line still carries its beginning).
	MaxEventDataBytes = 4 << 10
	eventDataDepth    = 32
)

// EventKind says what happened in the app.
type EventKind string

const (
	// EventState: the app reports a change of its own state; Name is one of
	// the manifest's declared events (e.g. "board_changed").
	EventState EventKind = "state"
	// EventAction: someone used the app; Name is the action and Actor who did
	// it. This is how the agent learns what the user did.
	EventAction EventKind = "action"
)

// Event is something that happened in an app session, to be shown to the
// agent.
type Event struct {
	AppSlug string
	Kind    EventKind
	Name    string
	// Actor is set for EventAction.
	Actor Actor
	// Data is the state change or the action's arguments; any JSON value, or
	// empty.
	Data json.RawMessage
	At   time.Time
}

// HistoryEvent is the structured form of an Event for a task frame's
// history. Text is FormatEvent's line, so an agent that only reads text loses
// nothing but the exact data.
type HistoryEvent struct {
	Type  string          `json:"type"` // always "app_event"
	App   string          `json:"app"`
	Kind  EventKind       `json:"kind"`
	Name  string          `json:"name"`
	Actor Actor           `json:"actor,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
	// DataOmitted is true when the event had data but it is not included:
	// larger than MaxEventDataBytes once re-encoded, or not JSON.
	DataOmitted bool   `json:"dataOmitted,omitempty"`
	At          string `json:"at,omitempty"`
	Text        string `json:"text"`
}

// HistoryEventType is HistoryEvent.Type.
const HistoryEventType = "app_event"

// timeLayout is the platform's wire time: ISO-8601 UTC with milliseconds.
const timeLayout = "2006-01-02T15:04:05.000Z"

// FormatEvent renders an event as one line for the agent's context:
//
//	[app chess] state board_changed {"fen":"…","turn":"b"}
//	[app chess] user invoked move {"from":"e2","to":"e4"}
//
// Data is re-encoded compactly with sorted keys, so equal events give equal
// lines whatever order the app wrote its keys in; data that is not JSON shows
// as "(invalid data)" and data too large to parse as "(data too large)". The
// line never contains a newline (names that are not plain identifiers are
// JSON-quoted, so event text cannot forge extra lines) and is at most
// MaxEventTextBytes, cut with "…". The time is left out: it is in the
// structured form, and keeping it out makes lines stable.
func FormatEvent(e Event) string {
	var b strings.Builder
	b.WriteString("[app ")
	b.WriteString(plainOrQuoted(e.AppSlug, slugRe.MatchString))
	b.WriteString("] ")
	switch e.Kind {
	case EventAction:
		b.WriteString(plainOrQuoted(string(e.Actor), func(s string) bool { return Actor(s).valid() }))
		b.WriteString(" invoked ")
	case EventState:
		b.WriteString("state ")
	default:
		b.WriteString(plainOrQuoted(string(e.Kind), nameRe.MatchString))
		b.WriteByte(' ')
	}
	b.WriteString(plainOrQuoted(e.Name, nameRe.MatchString))
	data, status := canonicalData(e.Data)
	switch status {
	case dataPresent:
		b.WriteByte(' ')
		b.Write(data)
	case dataInvalid:
		b.WriteString(" (invalid data)")
	case dataTooLarge:
		b.WriteString(" (data too large)")
	}
	return truncate(b.String(), MaxEventTextBytes)
}

// EventEntry is the structured form of an event for a task frame's history.
func EventEntry(e Event) HistoryEvent {
	h := HistoryEvent{
		Type:  HistoryEventType,
		App:   e.AppSlug,
		Kind:  e.Kind,
		Name:  e.Name,
		Actor: e.Actor,
		Text:  FormatEvent(e),
	}
	if !e.At.IsZero() {
		h.At = e.At.UTC().Format(timeLayout)
	}
	data, status := canonicalData(e.Data)
	switch {
	case status == dataPresent && len(data) <= MaxEventDataBytes:
		h.Data = data
	case status != dataAbsent:
		h.DataOmitted = true
	}
	return h
}

type dataStatus int

const (
	dataAbsent dataStatus = iota
	dataPresent
	dataInvalid
	dataTooLarge
)

// maxEventParseBytes is the most event data worth parsing: beyond it neither
// the line nor the structured form could show it.
const maxEventParseBytes = 64 << 10

// canonicalData re-encodes event data canonically (compact, sorted keys).
// Empty and null count as absent.
func canonicalData(data json.RawMessage) (json.RawMessage, dataStatus) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, dataAbsent
	}
	if len(trimmed) > maxEventParseBytes {
		return nil, dataTooLarge
	}
	v, err := decodeStrict(trimmed, eventDataDepth)
	if err != nil {
		return nil, dataInvalid
	}
	out, err := encodeCanonical(v)
	if err != nil {
		return nil, dataInvalid
	}
	return out, dataPresent
}

func plainOrQuoted(s string, plain func(string) bool) string {
	if plain(s) {
		return s
	}
	return quoteBounded(s, 80)
}

// ErrEventData: event data that is not one JSON value, has duplicate keys,
// is nested deeper than 32 levels or is over 64 KiB.
var ErrEventData = errors.New("appbridge: event data must be one JSON value without duplicate keys, nested at most 32 levels, at most 64 KiB")

// EventData re-encodes event data canonically (compact, sorted keys), as
// FormatEvent and EventEntry show it, so it can be stored once checked.
// Empty and null are nil (no data).
func EventData(data json.RawMessage) (json.RawMessage, error) {
	out, status := canonicalData(data)
	switch status {
	case dataAbsent:
		return nil, nil
	case dataPresent:
		return out, nil
	}
	return nil, ErrEventData
}
