package appbridge

import (
	"encoding/json"
	"fmt"
	"testing"
)

// The full matrix: every control mode × every actor × every kind of action
// ("actors" absent, user only, agent only, both listed explicitly).
func TestControlModeMatrix(t *testing.T) {
	m, err := ParseManifest([]byte(`{"actions":[
		{"name":"any","description":"Anyone."},
		{"name":"users","description":"Users.","actors":["user"]},
		{"name":"agents","description":"Agents.","actors":["agent"]},
		{"name":"both","description":"Both.","actors":["agent","user"]}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	const ok = Code("")
	want := map[ControlMode]map[Actor]map[string]Code{
		ModeUserOnly: {
			ActorUser:  {"any": ok, "users": ok, "agents": CodeForbiddenByManifest, "both": ok},
			ActorAgent: {"any": CodeForbiddenByMode, "users": CodeForbiddenByMode, "agents": CodeForbiddenByMode, "both": CodeForbiddenByMode},
		},
		ModeAgentOnly: {
			ActorUser:  {"any": CodeForbiddenByMode, "users": CodeForbiddenByMode, "agents": CodeForbiddenByMode, "both": CodeForbiddenByMode},
			ActorAgent: {"any": ok, "users": CodeForbiddenByManifest, "agents": ok, "both": ok},
		},
		ModeShared: {
			ActorUser:  {"any": ok, "users": ok, "agents": CodeForbiddenByManifest, "both": ok},
			ActorAgent: {"any": ok, "users": CodeForbiddenByManifest, "agents": ok, "both": ok},
		},
	}
	for mode, byActor := range want {
		s := Session{ID: "s", AppSlug: "demo", Mode: mode}
		for actor, byAction := range byActor {
			var allowed []string
			for _, spec := range m.Actions {
				code := byAction[spec.Name]
				label := fmt.Sprintf("%s/%s/%s", mode, actor, spec.Name)
				if got := ErrorCode(Permit(mode, actor, spec)); got != code {
					t.Errorf("%s: Permit = %q, want %q", label, got, code)
				}
				_, err := ResolveAction(s, m, Invocation{ID: label, Action: spec.Name}, actor)
				if got := ErrorCode(err); got != code {
					t.Errorf("%s: ResolveAction = %q (%v), want %q", label, got, err, code)
				}
				_, err = ResolveCall(s, m, ToolCall{ID: label, Name: ToolName("demo", spec.Name), Arguments: json.RawMessage(`{}`)}, actor)
				if got := ErrorCode(err); got != code {
					t.Errorf("%s: ResolveCall = %q (%v), want %q", label, got, err, code)
				}
				if code == ok {
					allowed = append(allowed, spec.Name)
				}
			}
			var got []string
			for _, a := range Allowed(s, m, actor) {
				got = append(got, a.Name)
			}
			if fmt.Sprint(got) != fmt.Sprint(allowed) {
				t.Errorf("%s/%s: Allowed = %v, want %v", mode, actor, got, allowed)
			}
			if actor == ActorAgent {
				var tools []string
				for _, tool := range Tools(s, m) {
					tools = append(tools, tool.Name[len("demo__"):])
				}
				if fmt.Sprint(tools) != fmt.Sprint(allowed) {
					t.Errorf("%s: Tools = %v, want exactly the agent's allowed actions %v", mode, tools, allowed)
				}
			}
		}
	}
}

func TestPermitInvalidInputs(t *testing.T) {
	spec := ActionSpec{Name: "x"}
	if got := ErrorCode(Permit("", ActorUser, spec)); got != CodeInvalidSession {
		t.Errorf("empty mode: %q", got)
	}
	if got := ErrorCode(Permit(ModeShared, "", spec)); got != CodeInvalidActor {
		t.Errorf("empty actor: %q", got)
	}
	if Allowed(Session{AppSlug: "demo", Mode: "nope"}, Manifest{Actions: []ActionSpec{spec}}, ActorUser) != nil {
		t.Error("Allowed on an invalid session must be empty")
	}
}

func TestSessionValidate(t *testing.T) {
	valid := []Session{
		{AppSlug: "chess", Mode: ModeShared},
		{AppSlug: "my-app-2", Mode: ModeUserOnly},
		{AppSlug: "0", Mode: ModeAgentOnly},
	}
	for _, s := range valid {
		if err := s.Validate(); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	invalid := []Session{
		{AppSlug: "chess", Mode: ""},
		{AppSlug: "chess", Mode: "User_Only"},
		{AppSlug: "", Mode: ModeShared},
		{AppSlug: "my_app", Mode: ModeShared}, // "_" would make tool names ambiguous
		{AppSlug: "-x", Mode: ModeShared},
		{AppSlug: "Chess", Mode: ModeShared},
		{AppSlug: "a\nb", Mode: ModeShared},
		{AppSlug: "a" + string(make([]byte, 63)), Mode: ModeShared},
	}
	for _, s := range invalid {
		if got := ErrorCode(s.Validate()); got != CodeInvalidSession {
			t.Errorf("%q/%q: code %q, want invalid_session", s.AppSlug, s.Mode, got)
		}
	}
}
