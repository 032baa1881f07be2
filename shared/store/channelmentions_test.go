package store_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// TestHandleMatchesGo: the database's ari_handle (which keeps members'
// handles for channel mentions) equals ari.AgentHandle, for chosen names
// and for random strings over ASCII, the two non-ASCII characters Unicode
// lowers into ASCII, and other letters.
func TestHandleMatchesGo(t *testing.T) {
	db := testenv.DB(t)
	names := []string{"Ada", "Ada Lovelace", "  --Ada__ Lovelace--  ", "İlkay Kelvin", "İ", "\u212Aarl", "Zoë Ünal",
		"東京 Bot", "a@b.c", "---", "", "x" + strings.Repeat("y-", 40), strings.Repeat("é", 70) + "ab", "ﬁ ligature", "ΣΑΣ"}
	alphabet := []rune("AZaz09_- .@!İ\u212AéÉßẞΣσﬁ東\u00a0\t")
	r := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		n := make([]rune, r.IntN(90))
		for i := range n {
			n[i] = alphabet[r.IntN(len(alphabet))]
		}
		names = append(names, string(n))
	}
	for _, n := range names {
		var got string
		if err := db.Pool.QueryRow(t.Context(), `select ari_handle($1)`, n).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := ari.AgentHandle(n); got != want {
			t.Errorf("ari_handle(%q) = %q, ari.AgentHandle = %q", n, got, want)
		}
	}
}

// A channel message records a mention for each member whose handle it
// @mentions (not the sender, not a non-member), counted per channel until
// the member's read mark passes it; a retry records nothing twice; a rename
// moves the handle; a deleted message or leaving drops the mentions; and a
// channel with unread mentions is listed by ChannelStates beyond its limit.
func TestChannelMentions(t *testing.T) {
	db := testenv.DB(t)
	ctx := t.Context()
	ada := testenv.NewUser(t, db, "Ada")
	bob := testenv.NewUser(t, db, "Bob Stone")
	cat := testenv.NewUser(t, db, "Cat")
	outsider := testenv.NewUser(t, db, "Dora")
	c, err := db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "M", Slug: "m-" + strings.ToLower(ada.ID[:6]), Visibility: store.VisibilityPublic})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{bob.ID, cat.ID} {
		if _, err := db.JoinCommunity(ctx, u, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.Channels(ctx, ada.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	general := list[0].ID
	other, err := db.CreateChannel(ctx, ada.ID, c.ID, "other", "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	send := func(from testenv.TestUser, channel, text string) store.ChannelSend {
		t.Helper()
		n++
		s, err := db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: from.ID, ChannelID: channel, Content: text,
			ClientMessageID: "m" + string(rune('a'+n))})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mentions := func(u testenv.TestUser, channel string) int64 {
		t.Helper()
		ch, err := db.Channel(ctx, u.ID, channel)
		if err != nil {
			t.Fatal(err)
		}
		return ch.MentionCount
	}
	rows := func() int {
		t.Helper()
		var k int
		if err := db.Pool.QueryRow(ctx, `select count(*) from channel_mentions`).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}

	s := send(ada, general, "@bob-stone and @ADA and @dora, see @nobody; mail a@cat.example")
	if !slices.Equal(s.Mentioned, []string{bob.ID}) {
		t.Fatalf("mentioned = %v, want Bob only (not the sender, not a non-member, not an address)", s.Mentioned)
	}
	if mentions(bob, general) != 1 || mentions(cat, general) != 0 || mentions(ada, general) != 0 || rows() != 1 {
		t.Fatalf("bob %d cat %d ada %d rows %d", mentions(bob, general), mentions(cat, general), mentions(ada, general), rows())
	}
	again, err := db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: ada.ID, ChannelID: general,
		Content: s.Message.Content, ClientMessageID: *s.Message.ClientMessageID})
	if err != nil || again.Created || len(again.Mentioned) != 0 || rows() != 1 {
		t.Fatalf("retry: %+v %v, rows %d", again, err, rows())
	}
	_ = outsider

	// Cat renames; the old handle no longer reaches her, the new one does.
	if _, err := db.Pool.Exec(ctx, `update "user" set name = 'Cat Power' where id = $1`, cat.ID); err != nil {
		t.Fatal(err)
	}
	if s := send(bob, general, "@cat?"); len(s.Mentioned) != 0 {
		t.Fatalf("old handle mentioned %v", s.Mentioned)
	}
	second := send(bob, general, "@Cat-Power and @ada")
	if len(second.Mentioned) != 2 || mentions(cat, general) != 1 || mentions(ada, general) != 1 {
		t.Fatalf("mentioned %v, cat %d ada %d", second.Mentioned, mentions(cat, general), mentions(ada, general))
	}

	// Reading past a mention prunes it; one after the mark stays.
	third := send(ada, general, "@bob-stone again")
	if _, err := db.MarkChannelRead(ctx, bob.ID, general, s.Message.Seq); err != nil {
		t.Fatal(err)
	}
	if mentions(bob, general) != 1 {
		t.Fatalf("after reading the first mention: %d", mentions(bob, general))
	}
	var left int
	if err := db.Pool.QueryRow(ctx, `select count(*) from channel_mentions where user_id = $1`, bob.ID).Scan(&left); err != nil || left != 1 {
		t.Fatalf("bob's rows after reading: %d %v", left, err)
	}

	// A deleted message takes its mentions with it.
	if _, err := db.DeleteChannelMessage(ctx, ada.ID, general, third.Message.ID); err != nil {
		t.Fatal(err)
	}
	if mentions(bob, general) != 0 {
		t.Fatalf("after the delete: %d", mentions(bob, general))
	}

	// ChannelStates with room for one channel: the most recently active
	// (other) and general, where Ada has an unread mention.
	send(bob, other.ID, "no mention here")
	states, err := db.ChannelStates(ctx, ada.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(states) != 2 || states[0].ChannelID != other.ID || states[0].MentionCount != 0 ||
		states[1].ChannelID != general || states[1].MentionCount != 1 || states[1].UnreadCount != states[1].LastSeq {
		t.Fatalf("states = %+v", states)
	}
	if states, err := db.ChannelStates(ctx, cat.ID, 1); err != nil || len(states) != 2 {
		t.Fatalf("cat's states = %+v %v", states, err)
	}
	if states, err := db.ChannelStates(ctx, bob.ID, 1); err != nil || len(states) != 1 || states[0].ChannelID != other.ID {
		t.Fatalf("bob's states (no unread mention) = %+v %v", states, err)
	}

	// Leaving drops the member's mentions.
	if err := db.LeaveCommunity(ctx, cat.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	var cats int
	if err := db.Pool.QueryRow(ctx, `select count(*) from channel_mentions where user_id = $1`, cat.ID).Scan(&cats); err != nil || cats != 0 {
		t.Fatalf("cat's rows after leaving: %d %v", cats, err)
	}
}
