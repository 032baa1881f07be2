package appbridge

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestResolveCallRejections(t *testing.T) {
	m := loadChess(t)
	shared := chessSession(ModeShared)
	cases := []struct {
		name    string
		session Session
		call    ToolCall
		actor   Actor
		code    Code
		msg     string
	}{
		{"invalid mode", chessSession("anarchy"), ToolCall{ID: "1", Name: "chess__move"}, ActorAgent, CodeInvalidSession, `unknown control mode "anarchy"`},
		{"invalid slug", Session{AppSlug: "Chess", Mode: ModeShared}, ToolCall{ID: "1", Name: "Chess__move"}, ActorAgent, CodeInvalidSession, "app slug"},
		{"invalid actor", shared, ToolCall{ID: "1", Name: "chess__move"}, Actor("system"), CodeInvalidActor, `unknown actor "system"`},
		{"other app", shared, ToolCall{ID: "1", Name: "checkers__move"}, ActorAgent, CodeUnknownApp, `tool "checkers__move" does not belong to app "chess"`},
		{"no prefix", shared, ToolCall{ID: "1", Name: "move"}, ActorAgent, CodeUnknownApp, "chess__<action>"},
		{"single underscore", shared, ToolCall{ID: "1", Name: "chess_move"}, ActorAgent, CodeUnknownApp, "does not belong"},
		{"unknown action", shared, ToolCall{ID: "1", Name: "chess__castle"}, ActorAgent, CodeUnknownAction, `app "chess" has no action "castle"`},
		{"empty action", shared, ToolCall{ID: "1", Name: "chess__"}, ActorAgent, CodeUnknownAction, `no action ""`},
		{"agent in user_only", chessSession(ModeUserOnly), ToolCall{ID: "1", Name: "chess__move"}, ActorAgent, CodeForbiddenByMode, "the agent may not act in user_only mode"},
		{"user in agent_only", chessSession(ModeAgentOnly), ToolCall{ID: "1", Name: "chess__move"}, ActorUser, CodeForbiddenByMode, "the user may not act in agent_only mode"},
		{"agent calls user action", shared, ToolCall{ID: "1", Name: "chess__resign"}, ActorAgent, CodeForbiddenByManifest, `"resign" may not be invoked by the agent`},
		{"user calls agent action", shared, ToolCall{ID: "1", Name: "chess__hint", Arguments: json.RawMessage(`{"text":"x"}`)}, ActorUser, CodeForbiddenByManifest, `"hint" may not be invoked by the user`},
		{"not json", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{from: e2}`)}, ActorAgent, CodeNotJSON, "arguments: not JSON: invalid character 'f'"},
		{"truncated json", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{"from":"e2"`)}, ActorAgent, CodeNotJSON, "unexpected end of input"},
		{"two values", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{} {}`)}, ActorAgent, CodeNotJSON, "unexpected data after the value"},
		{"too large", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`"` + strings.Repeat("x", MaxArgumentsBytes) + `"`)}, ActorAgent, CodeInvalidArguments, "the limit is 32768"},
		{"too deep", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(strings.Repeat("[", 40) + strings.Repeat("]", 40))}, ActorAgent, CodeInvalidArguments, "nested deeper than 32 levels"},
		{"duplicate key", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{"from":"e2","to":"e4","to":"e5"}`)}, ActorAgent, CodeInvalidArguments, `duplicate key "to"`},
		{"missing property", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{"from":"e2"}`)}, ActorAgent, CodeInvalidArguments, "at /: missing property 'to'"},
		{"pattern via ref", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{"from":"e2","to":"z9"}`)}, ActorAgent, CodeInvalidArguments, "at /to: 'z9' does not match pattern"},
		{"extra property", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{"from":"e2","to":"e4","piece":"k"}`)}, ActorAgent, CodeInvalidArguments, "additional properties 'piece' not allowed"},
		{"enum", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`{"from":"e7","to":"e8","promotion":"k"}`)}, ActorAgent, CodeInvalidArguments, "at /promotion: value must be one of"},
		{"wrong type", shared, ToolCall{ID: "1", Name: "chess__hint", Arguments: json.RawMessage(`{"text":7}`)}, ActorAgent, CodeInvalidArguments, "at /text: got number, want string"},
		{"array not object", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`["e2","e4"]`)}, ActorAgent, CodeInvalidArguments, "got array, want object"},
		{"null arguments", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`null`)}, ActorAgent, CodeInvalidArguments, "got null, want object"},
		// A JSON string holding JSON (a common LLM habit) is not unwrapped.
		{"stringified object", shared, ToolCall{ID: "1", Name: "chess__move", Arguments: json.RawMessage(`"{\"from\":\"e2\",\"to\":\"e4\"}"`)}, ActorAgent, CodeInvalidArguments, "got string, want object"},
		{"format asserted", shared, ToolCall{ID: "1", Name: "chess__schedule_rematch", Arguments: json.RawMessage(`{"at":"tomorrow"}`)}, ActorAgent, CodeInvalidArguments, "at /at: 'tomorrow' is not valid date-time"},
		{"no args to required", shared, ToolCall{ID: "1", Name: "chess__hint"}, ActorAgent, CodeInvalidArguments, "missing property 'text'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ResolveCall(tc.session, m, tc.call, tc.actor)
			e := wantCode(t, err, tc.code, tc.call.ID)
			if !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", e.Message, tc.msg)
			}
		})
	}
}

// The first failing check wins, in the documented order.
func TestResolveCallPrecedence(t *testing.T) {
	m := loadChess(t)
	garbage := json.RawMessage(`{not json`)
	cases := []struct {
		name    string
		session Session
		call    ToolCall
		actor   Actor
		code    Code
	}{
		{"session before actor", chessSession("x"), ToolCall{Name: "chess__move"}, "robot", CodeInvalidSession},
		{"actor before app", chessSession(ModeShared), ToolCall{Name: "other__move"}, "robot", CodeInvalidActor},
		{"app before mode", chessSession(ModeUserOnly), ToolCall{Name: "other__move"}, ActorAgent, CodeUnknownApp},
		{"mode before action", chessSession(ModeUserOnly), ToolCall{Name: "chess__castle"}, ActorAgent, CodeForbiddenByMode},
		{"action before manifest actors", chessSession(ModeShared), ToolCall{Name: "chess__castle", Arguments: garbage}, ActorAgent, CodeUnknownAction},
		{"manifest actors before arguments", chessSession(ModeShared), ToolCall{Name: "chess__resign", Arguments: garbage}, ActorAgent, CodeForbiddenByManifest},
		{"size before syntax", chessSession(ModeShared), ToolCall{Name: "chess__move", Arguments: json.RawMessage(strings.Repeat("{", MaxArgumentsBytes+1))}, ActorAgent, CodeInvalidArguments},
		{"syntax before duplicates", chessSession(ModeShared), ToolCall{Name: "chess__move", Arguments: json.RawMessage(`{"a":1,"a":2`)}, ActorAgent, CodeInvalidArguments},
		{"syntax error inside", chessSession(ModeShared), ToolCall{Name: "chess__move", Arguments: json.RawMessage(`{"a":1,"b":}`)}, ActorAgent, CodeNotJSON},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ResolveCall(tc.session, m, tc.call, tc.actor)
			wantCode(t, err, tc.code, "")
		})
	}
}

func TestResolveCallArguments(t *testing.T) {
	m := loadChess(t)
	s := chessSession(ModeShared)
	cases := []struct{ tool, args, want string }{
		// Key order and whitespace do not matter; the result is canonical.
		{"chess__move", "\n{ \"to\" : \"e4\",\t\"from\":\"e2\" }\n", `{"from":"e2","to":"e4"}`},
		{"chess__move", `{"from":"e7","to":"e8","promotion":"q"}`, `{"from":"e7","promotion":"q","to":"e8"}`},
		// Absent or blank arguments mean {} for an action without parameters.
		{"chess__resign", ``, `{}`},
		{"chess__resign", `   `, `{}`},
		{"chess__resign", `{}`, `{}`},
		// Numbers keep their exact text; nothing goes through float64.
		{"chess__schedule_rematch", `{"at":"2025-06-01T18:00:00Z","n":123456789012345678901234567890.5e-3}`, `{"at":"2025-06-01T18:00:00Z","n":123456789012345678901234567890.5e-3}`},
		// Markup is not HTML-escaped, and non-ASCII text passes through.
		{"chess__hint", `{"text":"<b>Ne5</b> & \u00e9\u00e8"}`, `{"text":"<b>Ne5</b> & éè"}`},
	}
	for i, tc := range cases {
		actor := ActorAgent
		if tc.tool == "chess__resign" {
			actor = ActorUser
		}
		got, err := ResolveCall(s, m, ToolCall{ID: fmt.Sprint(i), Name: tc.tool, Arguments: json.RawMessage(tc.args)}, actor)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if string(got.Arguments) != tc.want {
			t.Fatalf("case %d: arguments = %s, want %s", i, got.Arguments, tc.want)
		}
		if got.Actor != actor || got.CallID != fmt.Sprint(i) {
			t.Fatalf("case %d: %+v", i, got)
		}
	}
}

// A user's click names the action without the app prefix.
func TestResolveActionForUsers(t *testing.T) {
	m := loadChess(t)
	got, err := ResolveAction(chessSession(ModeUserOnly), m, Invocation{ID: "click-1", Action: "move", Arguments: json.RawMessage(`{"to":"e4","from":"e2"}`)}, ActorUser)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"callId":"click-1","sessionId":"s1","conversationId":"c1","appId":"a1","appVersionId":"v1","name":"move","actor":"user","arguments":{"from":"e2","to":"e4"}}`
	if mustJSON(t, got) != want {
		t.Fatalf("action = %s\nwant     %s", mustJSON(t, got), want)
	}
	// The prefixed form is a tool name, not an action name.
	_, err = ResolveAction(chessSession(ModeShared), m, Invocation{ID: "click-2", Action: "chess__move"}, ActorUser)
	wantCode(t, err, CodeUnknownAction, "click-2")
	_, err = ResolveAction(chessSession(ModeAgentOnly), m, Invocation{ID: "click-3", Action: "move"}, ActorUser)
	wantCode(t, err, CodeForbiddenByMode, "click-3")
	_, err = ResolveAction(Session{Mode: ModeShared}, m, Invocation{ID: "click-4", Action: "move"}, ActorUser)
	wantCode(t, err, CodeInvalidSession, "click-4")
	_, err = ResolveAction(chessSession(ModeShared), m, Invocation{ID: "click-5", Action: "move"}, "")
	wantCode(t, err, CodeInvalidActor, "click-5")
}

// A Manifest not made by ParseManifest has no compiled schemas; calls against
// it are refused rather than passed through unvalidated.
func TestResolveCallHandBuiltManifest(t *testing.T) {
	m := Manifest{Actions: []ActionSpec{{Name: "move", Description: "x", Parameters: json.RawMessage(`{"type":"object"}`)}}}
	_, err := ResolveCall(chessSession(ModeShared), m, ToolCall{ID: "c", Name: "chess__move", Arguments: json.RawMessage(`{}`)}, ActorAgent)
	wantCode(t, err, CodeInvalidManifest, "c")
}

// A call with many schema failures still yields a short message.
func TestResolveCallMessageBounded(t *testing.T) {
	props := map[string]any{}
	var required []string
	for i := 0; i < 50; i++ {
		k := fmt.Sprintf("field_with_a_long_name_%02d", i)
		props[k] = map[string]any{"type": "integer"}
		required = append(required, k)
	}
	schema := mustJSON(t, map[string]any{"type": "object", "properties": props, "required": required})
	m, err := ParseManifest([]byte(`{"actions":[{"name":"fill","description":"Fill the form.","parameters":` + schema + `}]}`))
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]any{}
	for k := range props {
		args[k] = strings.Repeat("s", 300)
	}
	_, err = ResolveCall(Session{AppSlug: "form", Mode: ModeShared}, m, ToolCall{ID: "x", Name: "form__fill", Arguments: json.RawMessage(mustJSON(t, args))}, ActorAgent)
	e := wantCode(t, err, CodeInvalidArguments, "x")
	// Sorted, so the same call always gives the same message.
	want := `{"code":"invalid_arguments","message":"arguments do not match the schema of fill: ` +
		`at /field_with_a_long_name_00: got string, want integer; at /field_with_a_long_name_01: got string, want integer; ` +
		`at /field_with_a_long_name_02: got string, want integer; at /field_with_a_long_name_03: got string, want integer; ` +
		`at /field_with_a_long_name_04: got string, want integer; and 45 more","callId":"x"}`
	if got := mustJSON(t, e); got != want {
		t.Fatalf("error JSON =\n%s\nwant\n%s", got, want)
	}
	// A single huge failure is cut at the bound, marked with an ellipsis.
	long := strings.Repeat("y", 2*MaxErrorMessageBytes)
	_, err = ResolveCall(chessSession(ModeShared), loadChess(t), ToolCall{Name: "chess__move", Arguments: json.RawMessage(`{"from":"` + long + `","to":"e4"}`)}, ActorAgent)
	e = wantCode(t, err, CodeInvalidArguments, "")
	if !strings.HasSuffix(e.Message, "…") {
		t.Fatalf("long message should be cut with an ellipsis: %q", e.Message)
	}
}

// One parsed manifest serves many conversations at once.
func TestResolveCallConcurrent(t *testing.T) {
	m := loadChess(t)
	s := chessSession(ModeShared)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				args := fmt.Sprintf(`{"from":"e%d","to":"e%d"}`, 1+i%8, 1+(i+g)%8)
				got, err := ResolveCall(s, m, ToolCall{Name: "chess__move", Arguments: json.RawMessage(args)}, ActorAgent)
				if err != nil {
					errs <- err
					return
				}
				if string(got.Arguments) != args {
					errs <- fmt.Errorf("arguments %s, want %s", got.Arguments, args)
					return
				}
				if _, err := ResolveCall(s, m, ToolCall{Name: "chess__move", Arguments: json.RawMessage(`{"from":"e2"}`)}, ActorAgent); ErrorCode(err) != CodeInvalidArguments {
					errs <- fmt.Errorf("invalid call gave %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestErrorCodeOfForeignErrors(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorCode(fmt.Errorf("plain")) != "" {
		t.Fatal("only this package's errors carry codes")
	}
	wrapped := fmt.Errorf("relay: %w", newError(CodeNotJSON, "c", "x"))
	if ErrorCode(wrapped) != CodeNotJSON {
		t.Fatalf("wrapped code = %q", ErrorCode(wrapped))
	}
	if got := newError(CodeUnknownAction, "", "no").Error(); got != "unknown_action: no" {
		t.Fatalf("Error() = %q", got)
	}
}
