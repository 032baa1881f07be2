package dispatch

import (
	"crypto/rand"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/relay/a2a"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/ari"
)

// An A2A agent's question, as an input request (PROTOCOL.md section 14):
// the prompt is the text of the input-required status message, else the
// reply's text so far, else defaultPrompt. The first data part of that
// message that is a JSON object may give "options" (an array of strings)
// and "schema" (a JSON object), which members' clients show as choices or
// a form; they are taken when they pass the rules of a socket agent's
// agent_input_request (the same decoder checks them), and left out
// otherwise, so the question is asked with its prompt alone.

// defaultPrompt asks for an answer when the agent said nothing to show.
const defaultPrompt = "The agent needs your answer to go on."

// question is what an agent_input_request would carry.
func question(in *a2a.InputRequest, replyText string) *protocol.AgentInputRequest {
	prompt := ""
	if in != nil {
		prompt = promptText(in.Prompt)
	}
	if prompt == "" {
		prompt = promptText(replyText)
	}
	if prompt == "" {
		prompt = defaultPrompt
	}
	frame := map[string]any{"type": protocol.TypeAgentInputRequest, "taskId": "t", "requestId": "q",
		"kind": ari.InputQuestion, "prompt": prompt}
	if in != nil {
		for _, raw := range in.Data {
			var form struct {
				Options json.RawMessage `json:"options"`
				Schema  json.RawMessage `json:"schema"`
			}
			if len(raw) == 0 || raw[0] != '{' || json.Unmarshal(raw, &form) != nil {
				continue
			}
			if len(form.Options) > 0 && string(form.Options) != "null" {
				frame["options"] = form.Options
			}
			if len(form.Schema) > 0 && string(form.Schema) != "null" {
				frame["schema"] = form.Schema
			}
			break
		}
	}
	if q := decodeQuestion(frame); q != nil {
		return q
	}
	delete(frame, "options")
	delete(frame, "schema")
	if q := decodeQuestion(frame); q != nil {
		return q
	}
	return &protocol.AgentInputRequest{Kind: ari.InputQuestion, Prompt: defaultPrompt}
}

func decodeQuestion(frame map[string]any) *protocol.AgentInputRequest {
	b, err := json.Marshal(frame)
	if err != nil {
		return nil
	}
	f, err := protocol.DecodeAgent(b)
	if err != nil {
		return nil
	}
	q, _ := f.(*protocol.AgentInputRequest)
	return q
}

// promptText is s fit for a prompt: valid UTF-8, no control characters but
// line breaks and tabs, trimmed, cut at a character boundary to the
// prompt's bound.
func promptText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > ari.MaxInputPromptBytes {
		cut := ari.MaxInputPromptBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}

// newRequestID names the input request of an A2A question (A2A has no id
// for it): 26 random base32 characters.
func newRequestID() string { return "a2a-" + rand.Text() }
