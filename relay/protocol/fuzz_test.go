package protocol

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

var clientSeeds = []string{
	`{"type":"send_message","conversationId":"c1","content":"hi 👋","clientMessageId":"m1","attachments":["a1"]}`,
	`{"type":"sync","cursors":{"c1":3}}`,
	`{"type":"sync"}`,
	`{"type":"cancel_stream","messageId":"r1"}`,
	`{"type":"mark_read","conversationId":"c1","seq":4}`,
	`{"type":"focus","conversationId":null,"visible":true}`,
	`{"type":"ping"}`,
	`{"type":"send_message","content":null}`,
	`{"type":"sync","cursors":{"c1":1e99}}`,
	`[1,2]`, `null`, `{"type":`, "\xff",
}

var agentSeeds = []string{
	`{"type":"auth","token":"ari_0123"}`,
	`{"type":"skills","skills":[{"name":"a","description":"b"}]}`,
	`{"type":"agent_chunk","taskId":"t1","content":"Hé","mode":"delta"}`,
	`{"type":"agent_complete","taskId":"t1","content":"done"}`,
	`{"type":"agent_error","taskId":"t1","error":"boom"}`,
	`{"type":"ping"}`,
	`{"type":"skills","skills":[null,{"name":1}]}`,
	`{"type":"agent_chunk","taskId":"t\u0000","content":"\ud800"}`,
}

// fuzzDecode checks a decoder never panics, returns exactly one of a frame or a
// *Error, and that what it accepts re-encodes to an equal frame. The re-decode
// lifts the frame limit: Go escapes U+2028 as six bytes where the input may
// have sent three, so a frame near the limit can grow when re-encoded.
func fuzzDecode(f *testing.F, seeds []string, decode func([]byte) (Frame, error), decoders map[string]decoder) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		frame, err := decode(data)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) || perr.Code == "" || frame != nil {
				t.Fatalf("decode %q: (%#v, %v)", data, frame, err)
			}
			return
		}
		b, err := Encode(frame)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", frame, err)
		}
		again, err := decodeWith(b, 1<<30, decoders)
		if err != nil {
			t.Fatalf("re-decode %s (from %q): %v", b, data, err)
		}
		if !reflect.DeepEqual(frame, again) {
			t.Fatalf("round trip changed %q:\n%#v\n%#v", data, frame, again)
		}
	})
}

func FuzzDecodeClient(f *testing.F) { fuzzDecode(f, clientSeeds, DecodeClient, clientDecoders) }

func FuzzDecodeAgent(f *testing.F) { fuzzDecode(f, agentSeeds, DecodeAgent, agentDecoders) }

// FuzzEnvelope checks the frame splitter decides as json.Unmarshal into a
// map[string]json.RawMessage does: the same refusals, the same keys (the last
// of a repeated key wins, escapes decoded), the same value bytes.
func FuzzEnvelope(f *testing.F) {
	for _, s := range append(append([]string{`{"a":1,"a":[2,{"b":"}"}]}`, `{"t\u0079pe":"x","\ud800":null}`, ` { } `, `"x"`, `1`, `{"a":"\xff"}`, `{"\xff":1}`}, clientSeeds...), agentSeeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, perr := envelope(data)
		var want map[string]json.RawMessage
		err := json.Unmarshal(data, &want)
		var te *json.UnmarshalTypeError
		switch {
		case err != nil && !errors.As(err, &te):
			if perr == nil || perr.Code != CodeInvalidJSON {
				t.Fatalf("%q: encoding/json: %v; envelope: %v", data, err, perr)
			}
			return
		case err != nil || want == nil:
			if perr == nil || perr.Code != CodeInvalidFrame {
				t.Fatalf("%q: encoding/json: %v (map %v); envelope: %v", data, err, want, perr)
			}
			return
		case perr != nil:
			t.Fatalf("%q: envelope refused: %v", data, perr)
		}
		got := map[string]json.RawMessage{}
		for _, m := range ms {
			got[string(m.key)] = m.value
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %q\nwant %q", data, got, want)
		}
	})
}
