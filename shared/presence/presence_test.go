package presence

import (
	"context"
	"testing"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestEncodeParseRoundTrip(t *testing.T) {
	for _, e := range []Entry{
		{Instance: "relay-1", ConversationID: "c1", Visible: true},
		{Instance: "relay-1", ConversationID: "", Visible: false},
		{Instance: "i", ConversationID: "c1", Visible: false},
	} {
		got, err := Parse(e.Encode())
		if err != nil || got != e {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", e.Encode(), got, err, e)
		}
	}
	if got := (Entry{Instance: "r", ConversationID: "c", Visible: true}).Encode(); got != "r|c|1" {
		t.Errorf("Encode = %q, want r|c|1 (the format kv.Keys.UserPresence documents)", got)
	}
	for _, bad := range []string{"", "r|c", "r|c|yes", "r|c|1|x"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestFocused(t *testing.T) {
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)

	look := func(user, conv string) bool {
		t.Helper()
		ok, err := Focused(ctx, rdb, keys, user, conv)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if look("u1", "c1") {
		t.Fatal("no presence at all counts as focused")
	}
	// A background tab on c1 and a visible socket on c2.
	must(t, Set(ctx, rdb, keys, "u1", "r1/1", Entry{Instance: "r1", ConversationID: "c1", Visible: false}))
	must(t, Set(ctx, rdb, keys, "u1", "r1/2", Entry{Instance: "r1", ConversationID: "c2", Visible: true}))
	// Junk from some other writer is ignored, not fatal.
	must(t, rdb.HSet(ctx, keys.UserPresence("u1"), "junk", "???").Err())
	if look("u1", "c1") {
		t.Error("a hidden socket counts as focused")
	}
	if !look("u1", "c2") {
		t.Error("a visible socket on c2 is not focused on c2")
	}
	if look("u2", "c2") {
		t.Error("another user's presence leaked")
	}
	if ttl := rdb.TTL(ctx, keys.UserPresence("u1")).Val(); ttl <= 0 || ttl > kv.PresenceTTL {
		t.Errorf("presence TTL %v, want within %v", ttl, kv.PresenceTTL)
	}

	many, err := FocusedMany(ctx, rdb, keys, []string{"u1", "u2"}, "c2")
	if err != nil || !many["u1"] || many["u2"] {
		t.Errorf("FocusedMany = %v, %v", many, err)
	}

	must(t, Remove(ctx, rdb, keys, "u1", "r1/2"))
	if look("u1", "c2") {
		t.Error("a removed socket still counts")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
