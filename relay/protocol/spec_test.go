package protocol

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

// specExamples returns the ```json blocks of relay/PROTOCOL.md.
func specExamples(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	parts := strings.Split(string(doc), "```json\n")
	for _, p := range parts[1:] {
		end := strings.Index(p, "```")
		if end < 0 {
			t.Fatalf("unterminated json block: %.60s", p)
		}
		out = append(out, strings.TrimSpace(p[:end]))
	}
	return out
}

func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(x, y)
}

// Every example in PROTOCOL.md is a frame the code accepts, with no key the
// code would drop, and every frame type has an example.
func TestSpecExamples(t *testing.T) {
	examples := specExamples(t)
	seen := map[string]bool{}
	lastOffset := map[string]int64{}
	for _, ex := range examples {
		var env struct{ Type string }
		if err := json.Unmarshal([]byte(ex), &env); err != nil {
			t.Fatalf("example is not JSON: %v\n%s", err, ex)
		}
		var f Frame
		var err error
		switch {
		case env.Type == TypeAuth:
			// auth exists on both sockets: a ticket on /ws, a token on /ws/agent.
			f, err = DecodeClient([]byte(ex))
			if err != nil {
				f, err = DecodeAgent([]byte(ex))
			}
		case clientDecoders[env.Type] != nil && relayFrames[env.Type] != nil:
			// input_response exists on both sockets: a member's answer
			// on /ws, the answer the agent gets on /ws/agent.
			if f, err = DecodeClient([]byte(ex)); err == nil {
				if b, _ := Encode(f); !sameJSON(t, []byte(ex), b) {
					f, err = DecodeFromRelay([]byte(ex))
				}
			}
		case clientDecoders[env.Type] != nil && env.Type != TypePing:
			f, err = DecodeClient([]byte(ex))
		case agentDecoders[env.Type] != nil && env.Type != TypePing:
			f, err = DecodeAgent([]byte(ex))
		case env.Type == TypePing:
			f, err = DecodeClient([]byte(ex))
			if err == nil {
				_, err = DecodeAgent([]byte(ex))
			}
		default:
			f, err = DecodeFromRelay([]byte(ex))
		}
		if err != nil {
			t.Errorf("example does not decode: %v\n%s", err, ex)
			continue
		}
		b, err := Encode(f)
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, []byte(ex), b) {
			t.Errorf("example does not survive decode+encode (misspelt or extra key?):\n%s\n%s", ex, b)
		}
		seen[env.Type] = true

		switch v := f.(type) {
		case *StreamChunk:
			if prev, ok := lastOffset[v.MessageID]; ok && prev != v.Offset {
				t.Errorf("stream_chunk example offset %d, want %d", v.Offset, prev)
			}
			lastOffset[v.MessageID] = v.Offset + int64(len(v.Delta))
		case *ChannelStreamChunk:
			if prev, ok := lastOffset[v.MessageID]; ok && prev != v.Offset {
				t.Errorf("channel_stream_chunk example offset %d, want %d", v.Offset, prev)
			}
			lastOffset[v.MessageID] = v.Offset + int64(len(v.Delta))
		case *ChannelSubscribed:
			if s := v.Stream; s != nil && s.Offset != int64(len(s.Content)) {
				t.Errorf("channel_subscribed.stream example: offset %d for %d bytes", s.Offset, len(s.Content))
			}
		case *SyncResult:
			for _, s := range v.ActiveStreams {
				if s.Offset != int64(len(s.Content)) {
					t.Errorf("activeStreams example: offset %d for %d bytes", s.Offset, len(s.Content))
				}
			}
			for _, e := range v.Events {
				if _, err := DecodeFromRelay(e); err != nil {
					t.Errorf("sync_result event example: %v", err)
				}
			}
		case *ErrorFrame:
			if v.Field != "" && !strings.HasPrefix(v.Message, v.Field+": ") {
				t.Errorf("error example message %q does not match the decoder's form", v.Message)
			}
		}
	}
	all := []map[string]decoder{clientDecoders, agentDecoders}
	for _, m := range all {
		for typ := range m {
			if !seen[typ] {
				t.Errorf("PROTOCOL.md has no example of %q", typ)
			}
		}
	}
	for typ := range relayFrames {
		if !seen[typ] {
			t.Errorf("PROTOCOL.md has no example of %q", typ)
		}
	}
}

// The codes in PROTOCOL.md's tables are the ones the code defines.
func TestSpecMentionsCodes(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	codes := []string{
		CodeInvalidJSON, CodeUnknownType, CodeInvalidFrame, CodeFrameTooLarge, CodeNotFound,
		CodeForbidden, CodeRateLimited, CodeNotYourTask, CodeConversationBusy, CodeClientIDInUse, CodeAgentOffline,
		CodeInternal, CodeUnauthorized, CodeAuthRequired, CodeAuthTimeout,
		CodeAlreadyAnswered, CodeInputPending, CodeRequestIDInUse, "INPUT_REQUEST_TTL",
		StreamErrAgentError, StreamErrAgentTimeout, StreamErrAgentOffline, StreamErrReplyTooLarge,
		StreamErrInvalidChunk, StreamErrInterrupted, StreamErrInternal,
		CancelUser, CancelTimeout, CancelInvalidChunk, CancelReplyTooLarge, CancelConversationDeleted, CancelAgentRemoved, CancelInternal,
		"RELAY_AGENT_IDLE_TIMEOUT", "RELAY_AGENT_FIRST_CHUNK_TIMEOUT", Version,
	}
	for _, c := range codes {
		if !strings.Contains(text, "`"+c+"`") {
			t.Errorf("PROTOCOL.md does not mention `%s`", c)
		}
	}
	for _, code := range []int{CloseNormal, CloseGoingAway, CloseUnsupportedData, CloseMessageTooBig, CloseInternal,
		CloseUnauthorized, CloseRevoked, CloseReplaced, CloseSlowConsumer, CloseAuthTimeout} {
		row := "| " + itoa(code) + " | `" + CloseReason(code) + "` |"
		if !strings.Contains(text, row) {
			t.Errorf("PROTOCOL.md close-code table lacks %q", row)
		}
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
