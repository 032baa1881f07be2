package pushtrigger

import (
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
)

// Channel mentions end to end: a message stored in a community channel
// (store.SendChannelMessage records whom it @mentions) is pushed to those
// members only, through the real Sender to the loopback push service that
// decrypts it: a mentioned member gets kind channel_mention with the
// channel's ids; a member not mentioned gets nothing, and a message that
// mentions nobody sends nothing; a muted channel or community, quiet hours,
// and a visible socket subscribed to the channel each hold it back; a
// second mention within the dedup window too.
func TestChannelMentionPush(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ada, _ := f.user(t, "Ada", nil)
	bob, bobPath := f.user(t, "Bob", nil)
	cat, catPath := f.user(t, "Cat", nil)
	dan, danPath := f.user(t, "Dan", nil)
	eve, evePath := f.user(t, "Eve", nil)
	quiet := tokyo()
	fay, fayPath := f.user(t, "Fay", &quiet)
	gus, gusPath := f.user(t, "Gus", nil)
	c, err := f.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Rustaceans", Slug: "rust-" + strings.ToLower(ada.ID[:6]),
		Visibility: store.VisibilityPublic})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{bob.ID, cat.ID, dan.ID, eve.ID, fay.ID, gus.ID} {
		if _, err := f.db.JoinCommunity(ctx, u, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.db.Channels(ctx, ada.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	general := list[0].ID
	if _, err := f.db.SetChannelMuted(ctx, dan.ID, general, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.SetCommunityMuted(ctx, eve.ID, c.ID, true); err != nil {
		t.Fatal(err)
	}
	// Gus looks at the channel on a visible socket.
	if err := presence.SetWithChannels(ctx, f.rdb, f.keys, gus.ID, "r1/3", presence.Entry{Instance: "r1", Visible: true},
		[]string{"another", general}); err != nil {
		t.Fatal(err)
	}
	f.tr.Now = at("2026-07-01T15:00:00Z") // 00:00 in Tokyo: Fay's quiet hours

	n := 0
	send := func(text string) store.ChannelSend {
		t.Helper()
		n++
		s, err := f.db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: ada.ID, ChannelID: general, Content: text,
			ClientMessageID: "cm-" + string(rune('a'+n))})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	notifyOf := func(s store.ChannelSend) []Decision {
		return f.tr.OnChannelMention(ctx, ChannelMention{ChannelID: general, MessageID: s.Message.ID, SenderName: ada.Name,
			Text: s.Message.Content, UserIDs: s.Mentioned})
	}

	if ds := notifyOf(send("no one named here")); len(ds) != 0 {
		t.Fatalf("a message without mentions: %+v", ds)
	}
	s := send("@bob @dan @eve @fay @gus: release at noon")
	ds := notifyOf(s)
	want := map[string]string{bob.ID: notify.ReasonSend, dan.ID: notify.ReasonMuted, eve.ID: notify.ReasonMuted,
		fay.ID: notify.ReasonQuietHours, gus.ID: notify.ReasonFocused}
	if len(ds) != len(want) {
		t.Fatalf("decisions %+v, want one each for %v", ds, want)
	}
	for id, reason := range want {
		if d := reasonFor(t, ds, id); d.Reason != reason || d.Kind != notify.KindChannelMention {
			t.Errorf("%s: %+v, want %s", id, d, reason)
		}
	}
	got := f.received(t, bobPath)
	if len(got) != 1 {
		t.Fatalf("bob received %+v", got)
	}
	p := got[0]
	if p.Kind != notify.KindChannelMention || p.ChannelID != general || p.CommunityID != c.ID || p.ConversationID != "" ||
		p.MessageID != s.Message.ID || p.Title != "Ada mentioned you in #general (Rustaceans)" ||
		p.Body != "@bob @dan @eve @fay @gus: release at noon" || p.Tag != "channel:"+general || p.URL != "/channels/"+general {
		t.Fatalf("bob decrypted %+v", p)
	}
	for _, path := range []string{catPath, danPath, evePath, fayPath, gusPath} {
		if got := f.ps.Deliveries(path); len(got) != 0 {
			t.Errorf("%s received %d pushes", path, len(got))
		}
	}
	// Muted, quiet or looking, the mentions still count for the badge.
	for _, u := range []string{dan.ID, eve.ID, fay.ID, gus.ID} {
		ch, err := f.db.Channel(ctx, u, general)
		if err != nil || ch.MentionCount != 1 {
			t.Errorf("%s: mentionCount %d %v", u, ch.MentionCount, err)
		}
	}

	// Within the dedup window, Bob is not told again.
	if d := reasonFor(t, notifyOf(send("@bob one more")), bob.ID); d.Reason != notify.ReasonRecentlyNotified {
		t.Fatalf("second mention: %+v", d)
	}
	if got := f.ps.Deliveries(bobPath); len(got) != 1 {
		t.Fatalf("bob has %d pushes", len(got))
	}
}
