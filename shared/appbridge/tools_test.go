package appbridge

import (
	"encoding/json"
	"strings"
	"testing"
)

func toolNames(tools []Tool) string {
	var names []string
	for _, t := range tools {
		names = append(names, t.Name)
	}
	return strings.Join(names, ",")
}

func TestToolsPerMode(t *testing.T) {
	m := loadChess(t)
	cases := []struct {
		mode ControlMode
		want string
	}{
		// resign is user-only in the manifest, so the agent never gets it.
		{ModeShared, "chess__move,chess__hint,chess__schedule_rematch"},
		{ModeAgentOnly, "chess__move,chess__hint,chess__schedule_rematch"},
		// user_only: the agent watches through events and has no tools.
		{ModeUserOnly, ""},
	}
	for _, tc := range cases {
		if got := toolNames(Tools(chessSession(tc.mode), m)); got != tc.want {
			t.Errorf("%s: tools = %q, want %q", tc.mode, got, tc.want)
		}
	}
	if got := Tools(chessSession("free_for_all"), m); got != nil {
		t.Errorf("invalid mode gives tools %v", got)
	}
	bad := chessSession(ModeShared)
	bad.AppSlug = "Chess Club"
	if got := Tools(bad, m); got != nil {
		t.Errorf("invalid slug gives tools %v", got)
	}
}

// The exact JSON an agent receives in its task frame; relay/PROTOCOL.md shows
// the same shape.
func TestToolsJSON(t *testing.T) {
	tools := Tools(chessSession(ModeShared), loadChess(t))
	got, err := json.Marshal(tools[1])
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"chess__hint","description":"Show the user a hint.","parameters":` +
		`{"properties":{"text":{"maxLength":200,"minLength":1,"type":"string"}},"required":["text"],"type":"object"}}`
	if string(got) != want {
		t.Fatalf("tool JSON =\n%s\nwant\n%s", got, want)
	}
}

// Every tool offered to the agent resolves back to its own action, with the
// arguments canonicalised, and a tool name decomposes into slug and action.
func TestToolsRoundTrip(t *testing.T) {
	m := loadChess(t)
	s := chessSession(ModeShared)
	args := map[string]string{
		"move":             `{ "to": "e4", "from": "e2" }`,
		"hint":             `{"text":"Control the centre."}`,
		"schedule_rematch": `{"rated":true,"at":"2025-06-01T18:00:00.000Z"}`,
	}
	canonical := map[string]string{
		"move":             `{"from":"e2","to":"e4"}`,
		"hint":             `{"text":"Control the centre."}`,
		"schedule_rematch": `{"at":"2025-06-01T18:00:00.000Z","rated":true}`,
	}
	tools := Tools(s, m)
	if len(tools) != len(args) {
		t.Fatalf("%d tools, want %d", len(tools), len(args))
	}
	for i, tool := range tools {
		spec, _ := m.Action(strings.TrimPrefix(tool.Name, "chess__"))
		if tool.Name != ToolName("chess", spec.Name) || tool.Description != spec.Description || string(tool.Parameters) != string(spec.Parameters) {
			t.Fatalf("tool %d = %+v does not mirror %+v", i, tool, spec)
		}
		call := ToolCall{ID: "call_" + spec.Name, Name: tool.Name, Arguments: json.RawMessage(args[spec.Name])}
		got, err := ResolveCall(s, m, call, ActorAgent)
		if err != nil {
			t.Fatalf("%s: %v", tool.Name, err)
		}
		want := Action{CallID: call.ID, SessionID: "s1", ConversationID: "c1", AppID: "a1", AppVersionID: "v1",
			Name: spec.Name, Actor: ActorAgent, Arguments: json.RawMessage(canonical[spec.Name])}
		if mustJSON(t, got) != mustJSON(t, want) {
			t.Fatalf("%s resolved to\n%s\nwant\n%s", tool.Name, mustJSON(t, got), mustJSON(t, want))
		}
		// Resolving the canonical form again is a fixed point.
		again, err := ResolveCall(s, m, ToolCall{ID: call.ID, Name: tool.Name, Arguments: got.Arguments}, ActorAgent)
		if err != nil || string(again.Arguments) != string(got.Arguments) {
			t.Fatalf("%s: canonical arguments not stable: %s vs %s (%v)", tool.Name, again.Arguments, got.Arguments, err)
		}
	}
}

// Slugs may contain "-" but never "_", so "<slug>__<action>" splits at the
// first "__" even when the action itself contains "__".
func TestToolNameWithUnderscoredAction(t *testing.T) {
	m, err := ParseManifest([]byte(`{"actions":[{"name":"a__b","description":"x"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := Session{AppSlug: "my-app", Mode: ModeShared}
	tools := Tools(s, m)
	if len(tools) != 1 || tools[0].Name != "my-app__a__b" {
		t.Fatalf("tools = %+v", tools)
	}
	got, err := ResolveCall(s, m, ToolCall{Name: tools[0].Name}, ActorAgent)
	if err != nil || got.Name != "a__b" || string(got.Arguments) != "{}" {
		t.Fatalf("resolved %+v, %v", got, err)
	}
}
