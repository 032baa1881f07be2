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

// A user watches a channel when one socket subscribes to it and is visible;
// a hidden socket that subscribes, or a visible one that does not, is not
// watching; Remove and an empty list drop the socket's channels.
func TestWatchingChannelMany(t *testing.T) {
	ctx := context.Background()
	rdb, keys := testenv.Redis(t)
	set := func(user, socket string, visible bool, channels ...string) {
		t.Helper()
		if err := SetWithChannels(ctx, rdb, keys, user, socket, Entry{Instance: "r", Visible: visible}, channels); err != nil {
			t.Fatal(err)
		}
	}
	set("u1", "r/1", false, "ch1")
	set("u1", "r/2", true, "ch2")
	set("u2", "r/3", true, "ch0", "ch1")
	set("u3", "r/4", true)
	got, err := WatchingChannelMany(ctx, rdb, keys, []string{"u1", "u2", "u3", "u4"}, "ch1")
	if err != nil || len(got) != 1 || !got["u2"] {
		t.Fatalf("watching ch1 = %v %v, want u2 only", got, err)
	}
	set("u2", "r/3", true)
	if err := Remove(ctx, rdb, keys, "u1", "r/2"); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{"ch1", "ch2"} {
		if got, err := WatchingChannelMany(ctx, rdb, keys, []string{"u1", "u2"}, ch); err != nil || len(got) != 0 {
			t.Fatalf("watching %s after the changes = %v %v", ch, got, err)
		}
	}
}
