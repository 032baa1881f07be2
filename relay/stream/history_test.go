package stream

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/store"
)

func TestBoundHistoryKeepsNewestWithinBudget(t *testing.T) {
	var items []store.HistoryItem
	for i := 1; i <= 20; i++ {
		items = append(items, store.HistoryItem{Role: "user", SenderName: "Ada", Content: strings.Repeat("x", 1000), Seq: int64(i)})
	}
	out := boundHistory(items)
	total := 0
	for _, h := range out {
		total += len(h.Content)
	}
	if total > protocol.HistoryBytes || len(out) != 16 || out[0].Seq != 5 || out[len(out)-1].Seq != 20 {
		t.Fatalf("%d entries, %d bytes, seqs %d..%d", len(out), total, out[0].Seq, out[len(out)-1].Seq)
	}
}

func TestBoundHistoryCutsOneHugeEntryAtACharacter(t *testing.T) {
	huge := strings.Repeat("🙂", protocol.HistoryBytes) // 4 bytes each
	out := boundHistory([]store.HistoryItem{{Role: "agent", Content: "an older entry"}, {Role: "agent", Content: "x" + huge}})
	if len(out) != 1 || out[0].Role != protocol.RoleAgent || len(out[0].Content) > protocol.HistoryBytes || !utf8.ValidString(out[0].Content) {
		t.Fatalf("%d entries, %d bytes, valid %v", len(out), len(out[0].Content), utf8.ValidString(out[0].Content))
	}
	if out := boundHistory(nil); out == nil || len(out) != 0 {
		t.Fatalf("empty history = %#v, want []", out)
	}
}
