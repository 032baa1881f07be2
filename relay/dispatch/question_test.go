package dispatch

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/relay/a2a"
	"github.com/ari-chat/ari-server/shared/ari"
)

// What an A2A question becomes: options and schema when they pass
// agent_input_request's rules, else the prompt alone; the prompt from the
// status message, else the reply's text, else the default; cleaned and cut.
func TestQuestionFromA2A(t *testing.T) {
	data := func(s ...string) []json.RawMessage {
		var out []json.RawMessage
		for _, d := range s {
			out = append(out, json.RawMessage(d))
		}
		return out
	}
	long := strings.Repeat("é", ari.MaxInputPromptBytes) // twice the bound in bytes
	cases := []struct {
		name    string
		in      *a2a.InputRequest
		text    string
		prompt  string
		options []string
		schema  string
	}{
		{"options", &a2a.InputRequest{Prompt: "Which city?", Data: data(`{"options":["Paris","Tōkyō"]}`)}, "", "Which city?", []string{"Paris", "Tōkyō"}, ""},
		{"schema", &a2a.InputRequest{Prompt: "Where?", Data: data(`"not an object"`, `{"schema": {"type": "object"}}`)}, "", "Where?", nil, `{"type":"object"}`},
		{"repeated options are dropped", &a2a.InputRequest{Prompt: "Which?", Data: data(`{"options":["a","a"]}`)}, "", "Which?", nil, ""},
		{"options that are not strings", &a2a.InputRequest{Prompt: "Which?", Data: data(`{"options":[1,2]}`)}, "", "Which?", nil, ""},
		{"a schema that is no object", &a2a.InputRequest{Prompt: "Which?", Data: data(`{"schema":"x","options":["a"]}`)}, "", "Which?", nil, ""},
		{"only the first object counts", &a2a.InputRequest{Prompt: "Which?", Data: data(`{"other":1}`, `{"options":["a"]}`)}, "", "Which?", nil, ""},
		{"prompt from the reply's text", &a2a.InputRequest{Prompt: " \x00 "}, "  Which city, then?\n", "Which city, then?", nil, ""},
		{"no text at all", nil, "", defaultPrompt, nil, ""},
		{"control characters", &a2a.InputRequest{Prompt: "a\x07b\nc\x00"}, "", "ab\nc", nil, ""},
		{"cut at a character", &a2a.InputRequest{Prompt: long}, "", long[:ari.MaxInputPromptBytes], nil, ""},
	}
	for _, c := range cases {
		q := question(c.in, c.text)
		if q.Kind != ari.InputQuestion || q.Prompt != c.prompt || !slices.Equal(q.Options, c.options) || string(q.Schema) != c.schema {
			t.Errorf("%s: %+v (schema %s)", c.name, q, q.Schema)
		}
	}
	if id := newRequestID(); !ari.ValidID(id) || id == newRequestID() {
		t.Errorf("request id %q", id)
	}
}
