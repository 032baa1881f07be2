package stream

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/relay/protocol"
)

func TestStreamChunkEncodesAsProtocolEncode(t *testing.T) {
	var all strings.Builder
	for b := 0; b < 0x80; b++ {
		all.WriteByte(byte(b))
	}
	texts := []string{"", "In Tōkyō ist es ", all.String(), "a\u2028b\u2029c", "bad \xff\xfe utf8 \xe2\x82", "<script>&</script>",
		"🙂 grüße 東京", `"quoted" \back\slash`}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		texts = append(texts, string(b))
	}
	for _, s := range texts {
		f := protocol.StreamChunk{MessageID: "r_" + s, ConversationID: "c_01", Delta: s, Offset: int64(len(s)) * 7}
		want, err := protocol.Encode(&f)
		if err != nil {
			t.Fatal(err)
		}
		got := appendStreamChunk(nil, f.MessageID, f.ConversationID, f.Delta, f.Offset)
		if string(got) != string(want) {
			t.Fatalf("%q:\n got %s\nwant %s", s, got, want)
		}
		cf := protocol.ChannelStreamChunk{ChannelID: "ch_01", MessageID: "r_" + s, Delta: s, Offset: int64(len(s)) * 7}
		if want, err = protocol.Encode(&cf); err != nil {
			t.Fatal(err)
		}
		if got := appendChannelStreamChunk(nil, cf.ChannelID, cf.MessageID, cf.Delta, cf.Offset); string(got) != string(want) {
			t.Fatalf("channel %q:\n got %s\nwant %s", s, got, want)
		}
	}
}
