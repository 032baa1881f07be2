package appbridge

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseManifestSample(t *testing.T) {
	m := loadChess(t)
	var names []string
	for _, a := range m.Actions {
		names = append(names, a.Name)
	}
	if got := strings.Join(names, ","); got != "move,resign,hint,schedule_rematch" {
		t.Fatalf("actions = %s", got)
	}
	move, ok := m.Action("move")
	if !ok {
		t.Fatal("move not found")
	}
	// Canonical: compact, keys sorted at every level.
	wantMove := `{"$defs":{"square":{"pattern":"^[a-h][1-8]$","type":"string"}},"additionalProperties":false,` +
		`"properties":{"from":{"$ref":"#/$defs/square"},"promotion":{"enum":["q","r","b","n"]},"to":{"$ref":"#/$defs/square"}},` +
		`"required":["from","to"],"type":"object"}`
	if string(move.Parameters) != wantMove {
		t.Fatalf("move parameters =\n%s\nwant\n%s", move.Parameters, wantMove)
	}
	if move.Actors != nil {
		t.Fatalf("move actors = %v, want nil (both)", move.Actors)
	}
	resign, _ := m.Action("resign")
	if string(resign.Parameters) != `{"additionalProperties":false,"properties":{},"type":"object"}` {
		t.Fatalf("resign gets the empty object schema, got %s", resign.Parameters)
	}
	if fmt.Sprint(resign.Actors) != "[user]" {
		t.Fatalf("resign actors = %v", resign.Actors)
	}
	if _, ok := m.Action("castle"); ok {
		t.Fatal("castle should not exist")
	}
	if e, ok := m.Event("game_over"); !ok || e.Description != "" {
		t.Fatalf("game_over = %+v, %v", e, ok)
	}
	if _, ok := m.Event("nope"); ok {
		t.Fatal("undeclared event found")
	}
	if e, _ := m.Event("board_changed"); e.Description != "The position changed." {
		t.Fatalf("board_changed = %+v", e)
	}
}

// A parsed manifest marshals back to a manifest that parses to the same thing.
func TestParseManifestRoundTrip(t *testing.T) {
	m := loadChess(t)
	first := mustJSON(t, m)
	again, err := ParseManifest([]byte(first))
	if err != nil {
		t.Fatalf("reparse: %v", err)
	}
	if second := mustJSON(t, again); second != first {
		t.Fatalf("round trip changed the manifest:\n%s\n%s", first, second)
	}
}

func TestParseManifestEmpty(t *testing.T) {
	m, err := ParseManifest([]byte(`{}`))
	if err != nil || len(m.Actions) != 0 || len(m.Events) != 0 {
		t.Fatalf("empty manifest: %+v, %v", m, err)
	}
}

func action(fields string) string {
	return `{"actions":[{"name":"go","description":"Go."` + fields + `}]}`
}

func TestParseManifestFailures(t *testing.T) {
	many := func(kind string, n int) string {
		var items []string
		for i := 0; i < n; i++ {
			items = append(items, fmt.Sprintf(`{"name":"a%d","description":"x"}`, i))
		}
		return `{"` + kind + `":[` + strings.Join(items, ",") + `]}`
	}
	bigSchema := `{"type":"object","description":"` + strings.Repeat("x", MaxSchemaBytes) + `"}`
	cases := []struct {
		name, manifest, path, msg string
	}{
		{"not json", `{"actions":`, "", "not JSON: unexpected end of input"},
		{"trailing data", `{} {}`, "", "unexpected data"},
		{"not an object", `[]`, "", "must be a JSON object"},
		{"too large", `{"x":"` + strings.Repeat("a", MaxManifestBytes) + `"}`, "", "the limit is"},
		{"too deep", strings.Repeat(`{"a":`, 70) + `1` + strings.Repeat(`}`, 70), "", "nested deeper"},
		{"duplicate key", `{"actions":[{"name":"a","name":"b","description":"x"}]}`, "", `duplicate key "name"`},
		{"actions not array", `{"actions":{}}`, "actions", "must be an array"},
		{"too many actions", many("actions", MaxActions+1), "actions", "the limit is 64"},
		{"action not object", `{"actions":[1]}`, "actions[0]", "must be an object"},
		{"name missing", `{"actions":[{"description":"x"}]}`, "actions[0].name", "must be a string matching"},
		{"name uppercase", `{"actions":[{"name":"Move","description":"x"}]}`, "actions[0].name", "must be a string matching"},
		{"name digit first", `{"actions":[{"name":"1move","description":"x"}]}`, "actions[0].name", "must be a string matching"},
		{"name dash", `{"actions":[{"name":"a-b","description":"x"}]}`, "actions[0].name", "must be a string matching"},
		{"name too long", `{"actions":[{"name":"a` + strings.Repeat("b", 64) + `","description":"x"}]}`, "actions[0].name", "must be a string matching"},
		{"duplicate action", `{"actions":[{"name":"a","description":"x"},{"name":"a","description":"y"}]}`, "actions[1].name", `duplicate action name "a"`},
		{"description missing", `{"actions":[{"name":"a"}]}`, "actions[0].description", "non-empty string"},
		{"description empty", `{"actions":[{"name":"a","description":""}]}`, "actions[0].description", "non-empty string"},
		{"description not string", `{"actions":[{"name":"a","description":3}]}`, "actions[0].description", "non-empty string"},
		{"description too long", `{"actions":[{"name":"a","description":"` + strings.Repeat("d", MaxDescriptionBytes+1) + `"}]}`, "actions[0].description", "the limit is 1024"},
		{"unknown key", action(`,"actor":["user"]`), "actions[0]", `unknown key "actor"`},
		{"actors not array", action(`,"actors":"user"`), "actions[0].actors", "non-empty array"},
		{"actors empty", action(`,"actors":[]`), "actions[0].actors", "non-empty array"},
		{"actors unknown", action(`,"actors":["admin"]`), "actions[0].actors", `unknown actor "admin"`},
		{"actors twice", action(`,"actors":["user","user"]`), "actions[0].actors", "listed twice"},
		{"parameters not object", action(`,"parameters":true`), "actions[0].parameters", "must be a JSON object"},
		{"parameters no type", action(`,"parameters":{"properties":{}}`), "actions[0].parameters", `"type": "object"`},
		{"parameters type array", action(`,"parameters":{"type":"array"}`), "actions[0].parameters", `"type": "object"`},
		{"parameters type list", action(`,"parameters":{"type":["object","null"]}`), "actions[0].parameters", `"type": "object"`},
		{"other draft", action(`,"parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object"}`), "actions[0].parameters", "$schema must be"},
		{"against metaschema", action(`,"parameters":{"type":"object","properties":{"a":{"type":"objekt"}}}`), "actions[0].parameters", "not a valid JSON Schema (draft 2020-12): at /properties/a/type: got string, want array; at /properties/a/type: value must be one of"},
		{"bad regex", action(`,"parameters":{"type":"object","properties":{"a":{"type":"string","pattern":"(?=a)"}}}`), "actions[0].parameters", "is not valid regex"},
		{"external file ref", action(`,"parameters":{"type":"object","properties":{"a":{"$ref":"file:///etc/passwd"}}}`), "actions[0].parameters", "external references are not allowed"},
		{"external http ref", action(`,"parameters":{"type":"object","properties":{"a":{"$ref":"https://example.com/s.json"}}}`), "actions[0].parameters", "external references are not allowed"},
		{"relative ref", action(`,"parameters":{"type":"object","properties":{"a":{"$ref":"other.json"}}}`), "actions[0].parameters", "external references are not allowed"},
		{"ref relative to $id", action(`,"parameters":{"$id":"https://evil.example/s","type":"object","properties":{"a":{"$ref":"t.json"}}}`), "actions[0].parameters", `failing loading "https://evil.example/t.json": external references are not allowed`},
		{"dangling ref", action(`,"parameters":{"type":"object","properties":{"a":{"$ref":"#/$defs/nope"}}}`), "actions[0].parameters", "nope"},
		{"schema too large", action(`,"parameters":` + bigSchema), "actions[0].parameters", "the limit is 16384"},
		{"events not array", `{"events":"x"}`, "events", "must be an array"},
		{"too many events", many("events", MaxEvents+1), "events", "the limit is 64"},
		{"event not object", `{"events":[null]}`, "events[0]", "must be an object"},
		{"event bad name", `{"events":[{"name":"Board"}]}`, "events[0].name", "must be a string matching"},
		{"event duplicate", `{"events":[{"name":"e"},{"name":"e"}]}`, "events[1].name", `duplicate event name "e"`},
		{"event unknown key", `{"events":[{"name":"e","schema":{}}]}`, "events[0]", `unknown key "schema"`},
		{"event description not string", `{"events":[{"name":"e","description":1}]}`, "events[0].description", "non-empty string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest([]byte(tc.manifest))
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("got %v, want *ManifestError", err)
			}
			if ErrorCode(err) != CodeInvalidManifest {
				t.Fatalf("ErrorCode = %q", ErrorCode(err))
			}
			for _, p := range me.Problems {
				if p.Path == tc.path && strings.Contains(p.Message, tc.msg) {
					if len(p.Message) > MaxErrorMessageBytes {
						t.Fatalf("message too long: %d", len(p.Message))
					}
					if strings.Contains(p.Message, schemaBase) {
						t.Fatalf("internal schema URL leaked: %s", p.Message)
					}
					return
				}
			}
			t.Fatalf("no problem at %q containing %q in %s", tc.path, tc.msg, err)
		})
	}
}

// Every problem is reported at once, in a stable order, so a developer fixes
// a manifest in one round trip.
func TestParseManifestReportsAllProblems(t *testing.T) {
	in := `{"actions":[{"name":"A","description":"x"},{"name":"b","zeta":1,"alpha":2}],"events":[{"name":"e"},{"name":"e"}]}`
	_, err := ParseManifest([]byte(in))
	var me *ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("got %v", err)
	}
	got, _ := json.Marshal(me.Problems)
	want := `[{"path":"actions[0].name","message":"must be a string matching [a-z][a-z0-9_]{0,63}"},` +
		`{"path":"actions[1]","message":"unknown key \"alpha\""},` +
		`{"path":"actions[1]","message":"unknown key \"zeta\""},` +
		`{"path":"actions[1].description","message":"must be a non-empty string"},` +
		`{"path":"events[1].name","message":"duplicate event name \"e\""}]`
	if string(got) != want {
		t.Fatalf("problems =\n%s\nwant\n%s", got, want)
	}
	if !strings.HasPrefix(err.Error(), "invalid manifest: actions[0].name: must be") {
		t.Fatalf("Error() = %s", err)
	}
}

func TestManifestErrorIsBounded(t *testing.T) {
	var items []string
	for i := 0; i < MaxActions; i++ {
		items = append(items, `{"name":"BAD","description":"`+strings.Repeat("x", MaxDescriptionBytes+1)+`"}`)
	}
	_, err := ParseManifest([]byte(`{"actions":[` + strings.Join(items, ",") + `]}`))
	var me *ManifestError
	if !errors.As(err, &me) {
		t.Fatalf("got %v", err)
	}
	if len(me.Problems) != maxProblems {
		t.Fatalf("%d problems, want the cap %d", len(me.Problems), maxProblems)
	}
	if len(err.Error()) > 4*MaxErrorMessageBytes {
		t.Fatalf("Error() is %d bytes", len(err.Error()))
	}
}
