package appbridge

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

var knownCodes = map[Code]bool{
	CodeNotJSON: true, CodeUnknownApp: true, CodeUnknownAction: true, CodeForbiddenByMode: true,
	CodeForbiddenByManifest: true, CodeInvalidArguments: true, CodeInvalidSession: true,
	CodeInvalidActor: true, CodeInvalidManifest: true,
}

// FuzzResolveCallArguments: whatever an agent sends, the bridge either
// returns a typed refusal with a known code and a bounded message, or an
// action whose arguments are canonical JSON that resolves to itself again.
func FuzzResolveCallArguments(f *testing.F) {
	for _, seed := range []string{
		`{"from":"e2","to":"e4"}`, `{"from":"e7","to":"e8","promotion":"q"}`, ``, `null`, `[]`, `"x"`,
		`{"from":"e2","to":"e4","to":"e5"}`, `{"from":1e999,"to":"e4"}`, `{"from":"\ud800","to":"e4"}`,
		`{"text":"hi"}`, `{"at":"2025-01-01T00:00:00Z"}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		"{\"from\":\"e2\",\"to\":\"e4\"}\x00", `{"from":"e2","to":"e4"} x`,
	} {
		for _, tool := range []string{"chess__move", "chess__hint", "chess__schedule_rematch", "chess__resign"} {
			f.Add(tool, []byte(seed))
		}
	}
	m := loadChess(f)
	s := chessSession(ModeShared)
	f.Fuzz(func(t *testing.T, tool string, args []byte) {
		got, err := ResolveCall(s, m, ToolCall{ID: "f", Name: tool, Arguments: args}, ActorAgent)
		if err != nil {
			var e *Error
			if !isError(err, &e) || !knownCodes[e.Code] || e.CallID != "f" {
				t.Fatalf("bad refusal %#v", err)
			}
			if len(e.Message) > MaxErrorMessageBytes || !utf8.ValidString(e.Message) {
				t.Fatalf("message out of bounds: %q", e.Message)
			}
			return
		}
		if !json.Valid(got.Arguments) || bytes.ContainsAny(got.Arguments, "\n\t") {
			t.Fatalf("arguments not compact JSON: %q", got.Arguments)
		}
		again, err := ResolveCall(s, m, ToolCall{ID: "f", Name: tool, Arguments: got.Arguments}, ActorAgent)
		if err != nil || !bytes.Equal(again.Arguments, got.Arguments) {
			t.Fatalf("canonical form %q did not resolve to itself: %q, %v", got.Arguments, again.Arguments, err)
		}
		line := FormatEvent(Event{AppSlug: s.AppSlug, Kind: EventAction, Actor: ActorAgent, Name: got.Name, Data: got.Arguments})
		if len(line) > MaxEventTextBytes || !utf8.ValidString(line) || bytes.ContainsAny([]byte(line), "\r\n") {
			t.Fatalf("event line out of bounds: %q", line)
		}
	})
}

func isError(err error, target **Error) bool {
	e, ok := err.(*Error)
	*target = e
	return ok
}
