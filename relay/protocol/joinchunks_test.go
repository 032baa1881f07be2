package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/relay/protocol"
)

func encode(t testing.TB, f protocol.Frame) []byte {
	t.Helper()
	b, err := protocol.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJoinChunkFrames(t *testing.T) {
	chunk := func(msg, conv, delta string, off int64) []byte {
		return encode(t, &protocol.StreamChunk{MessageID: msg, ConversationID: conv, Delta: delta, Offset: off})
	}
	channel := func(ch, msg, delta string, off int64) []byte {
		return encode(t, &protocol.ChannelStreamChunk{ChannelID: ch, MessageID: msg, Delta: delta, Offset: off})
	}
	// Text with every kind of escape: quotes, backslashes, controls, HTML,
	// JavaScript line terminators, and multi-byte characters.
	a := "Tōkyō \"quoted\" \\ back\n<b>&</b>\u2028"
	b := "\t日本 \x01 \",\"offset\":9} end"
	cases := []struct {
		name string
		x, y []byte
		want []byte // nil: not joined
	}{
		{"contiguous", chunk("r_1", "c_1", a, 7), chunk("r_1", "c_1", b, 7+int64(len(a))), chunk("r_1", "c_1", a+b, 7)},
		{"channel", channel("ch_1", "r_1", a, 0), channel("ch_1", "r_1", b, int64(len(a))), channel("ch_1", "r_1", a+b, 0)},
		{"gap", chunk("r_1", "c_1", a, 0), chunk("r_1", "c_1", b, int64(len(a))+1), nil},
		{"overlap", chunk("r_1", "c_1", a, 0), chunk("r_1", "c_1", b, int64(len(a))-1), nil},
		{"other reply", chunk("r_1", "c_1", "ab", 0), chunk("r_2", "c_1", "cd", 2), nil},
		{"other conversation", chunk("r_1", "c_1", "ab", 0), chunk("r_1", "c_2", "cd", 2), nil},
		{"other channel", channel("ch_1", "r_1", "ab", 0), channel("ch_2", "r_1", "cd", 2), nil},
		{"kinds differ", chunk("r_1", "c_1", "ab", 0), channel("c_1", "r_1", "cd", 2), nil},
		{"not a chunk", encode(t, &protocol.StreamEnd{MessageID: "r_1", ConversationID: "c_1", Status: "complete"}), chunk("r_1", "c_1", "cd", 2), nil},
		{"too large", chunk("r_1", "c_1", strings.Repeat("x", 40<<10), 0), chunk("r_1", "c_1", strings.Repeat("y", 40<<10), 40<<10), nil},
		{"id that looks like a key", chunk(`r","delta":"x`, "c_1", "ab", 0), chunk(`r","delta":"x`, "c_1", "cd", 2), chunk(`r","delta":"x`, "c_1", "abcd", 0)},
		{"id that differs after a lookalike key", chunk(`r","delta":"x`, "c_1", "ab", 0), chunk(`r","delta":"y`, "c_1", "cd", 2), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := protocol.JoinChunkFrames(tc.x, tc.y)
			if tc.want == nil {
				if ok {
					t.Fatalf("joined %s and %s into %s", tc.x, tc.y, got)
				}
				return
			}
			if !ok || string(got) != string(tc.want) {
				t.Fatalf("joined %v:\n got %s\nwant %s", ok, got, tc.want)
			}
		})
	}
}

// FuzzJoinChunkFrames: whatever two frames are, a join is what decoding
// both and concatenating their deltas gives, and only when they are
// contiguous chunks of one reply.
func FuzzJoinChunkFrames(f *testing.F) {
	f.Add("r_1", "c_1", "héllo \"x\"", "wörld\n", int64(0), int64(12), false)
	f.Add("r_1", "c_1", "ab", "cd", int64(5), int64(7), true)
	f.Add(`a\"`, "c", "\u2028<", "\x00", int64(3), int64(7), false)
	f.Fuzz(func(t *testing.T, msg, conv, da, db string, offA, offB int64, channel bool) {
		if offA < 0 || offB < 0 || offA > 1<<40 || offB > 1<<40 {
			return
		}
		var x, y []byte
		if channel {
			x = encode(t, &protocol.ChannelStreamChunk{ChannelID: conv, MessageID: msg, Delta: da, Offset: offA})
			y = encode(t, &protocol.ChannelStreamChunk{ChannelID: conv, MessageID: msg, Delta: db, Offset: offB})
		} else {
			x = encode(t, &protocol.StreamChunk{MessageID: msg, ConversationID: conv, Delta: da, Offset: offA})
			y = encode(t, &protocol.StreamChunk{MessageID: msg, ConversationID: conv, Delta: db, Offset: offB})
		}
		type chunk struct {
			Type, MessageID, ConversationID, ChannelID, Delta string
			Offset                                            int64
		}
		var cx, cy chunk
		if json.Unmarshal(x, &cx) != nil || json.Unmarshal(y, &cy) != nil {
			t.Fatal("encoded frames do not decode")
		}
		got, ok := protocol.JoinChunkFrames(x, y)
		contiguous := cx.Offset+int64(len(cx.Delta)) == cy.Offset && len(x)+len(y) <= protocol.MaxJoinedChunkBytes
		if ok != contiguous {
			t.Fatalf("joined %v, contiguous %v: %s + %s", ok, contiguous, x, y)
		}
		if !ok {
			return
		}
		var j chunk
		if err := json.Unmarshal(got, &j); err != nil {
			t.Fatalf("joined frame %s: %v", got, err)
		}
		want := cx
		want.Delta = cx.Delta + cy.Delta
		if j != want {
			t.Fatalf("joined %+v, want %+v", j, want)
		}
	})
}
