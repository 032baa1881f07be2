package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// channel_send across two instances: a member sends on one, a subscriber
// on the other gets channel_message_new; a retry with the same
// clientMessageId is acknowledged with the same message and published
// nothing again; the mention is recorded; a banned member, a stranger to a
// private community, a bad frame and a reused id in another channel get an
// error frame and nothing is stored.
func TestChannelSendOverSocket(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ctx := context.Background()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	eve := testenv.NewUser(t, c.db, "Eve")
	pub, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Offen", Slug: "send-" + strings.ToLower(ada.ID[:8]), Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := c.db.CreateCommunity(ctx, bob.ID, store.NewCommunity{Name: "Geheim", Slug: "geheim-" + strings.ToLower(bob.ID[:8]), Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{bob.ID, eve.ID} {
		if _, err := c.db.JoinCommunity(ctx, u, pub.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.db.BanMember(ctx, ada.ID, pub.ID, eve.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	first := func(userID, communityID string) string {
		list, err := c.db.Channels(ctx, userID, communityID)
		if err != nil {
			t.Fatal(err)
		}
		return list[0].ID
	}
	general, secret := first(ada.ID, pub.ID), first(bob.ID, priv.ID)
	other, err := c.db.CreateChannel(ctx, ada.ID, pub.ID, "andere", "")
	if err != nil {
		t.Fatal(err)
	}

	pa, pb, pe := dialClient(t, a, ada), dialClient(t, b, bob), dialClient(t, a, eve)
	pb.send(map[string]any{"type": "channel_subscribe", "channelId": general})
	pb.expect("channel_subscribed")

	send := func(p *peer, channel, content, clientID string) frame {
		p.send(map[string]any{"type": "channel_send", "channelId": channel, "content": content, "clientMessageId": clientID})
		return p.expectWhere("", func(f frame) bool {
			return (f.str("type") == "channel_message_ack" || f.str("type") == "error") && (f.str("clientMessageId") == clientID || f.str("ref") == clientID)
		})
	}
	ack := send(pa, general, "Hallo @bob", "cs-1")
	m := ack.obj("message")
	if ack.str("type") != "channel_message_ack" || m.str("channelId") != general || m.num("seq") != 1 ||
		m.str("content") != "Hallo @bob" || m.str("senderUserId") != ada.ID || m.str("clientMessageId") != "cs-1" {
		t.Fatalf("ack = %v", ack)
	}
	got := pb.expect("channel_message_new")
	if got.str("channelId") != general || got.obj("data").obj("message").str("id") != m.str("id") {
		t.Fatalf("subscriber on the other instance got %v", got)
	}
	if ch, err := c.db.Channel(ctx, bob.ID, general); err != nil || ch.MentionCount != 1 {
		t.Fatalf("bob's channel: %+v %v", ch, err)
	}

	// A retry: the same message, nothing new published (the subscriber's
	// next message is the one after it).
	again := send(pa, general, "Hallo @bob", "cs-1")
	if again.str("type") != "channel_message_ack" || again.obj("message").str("id") != m.str("id") || again.obj("message").num("seq") != 1 {
		t.Fatalf("retry = %v", again)
	}
	second := send(pa, general, "zwei", "cs-2")
	if next := pb.expect("channel_message_new"); next.obj("data").obj("message").str("id") != second.obj("message").str("id") {
		t.Fatalf("after the retry the subscriber got %v", next)
	}

	refused := func(p *peer, channel, content, clientID, code string) {
		t.Helper()
		if f := send(p, channel, content, clientID); f.str("type") != "error" || f.str("code") != code || f.str("ref") != clientID {
			t.Fatalf("%s: %v, want error %s", clientID, f, code)
		}
	}
	refused(pe, general, "ich bin verbannt", "eve-1", "forbidden") // banned
	refused(pa, secret, "hinein?", "ada-x", "not_found")           // private, not a member
	refused(pa, "no-such-channel", "hallo", "ada-y", "not_found")
	refused(pa, other.ID, "anderswo", "cs-1", "client_message_id_in_use")
	refused(pa, general, "   ", "ada-z", "invalid_frame")
	var stored, eves int
	if err := c.db.Pool.QueryRow(ctx, `select count(*), count(*) filter (where sender_user_id = $1) from channel_messages where channel_id = any($2)`,
		eve.ID, []string{general, secret, other.ID}).Scan(&stored, &eves); err != nil {
		t.Fatal(err)
	}
	if stored != 2 || eves != 0 {
		t.Fatalf("%d messages stored (%d by the banned member), want 2 and 0", stored, eves)
	}
}
