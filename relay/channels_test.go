package main

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Community channels across two instances: subscribers on both get what is
// published on the channel's topic (one publish), once each; who may
// subscribe is checked for every kind of outsider; the per-socket limit; a
// ban ends a subscription at once on the other instance, ordered with the
// channel's messages.
func TestChannelSubscriptionsAcrossInstances(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_MAX_CHANNELS_PER_SOCKET": "2"})
	a, b := c.start(), c.start()
	ctx := context.Background()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	eve := testenv.NewUser(t, c.db, "Eve")
	pub, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Offen", Slug: "offen-" + strings.ToLower(ada.ID[:8]), Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Geheim", Slug: "geheim-" + strings.ToLower(ada.ID[:8]), Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.JoinCommunity(ctx, bob.ID, pub.ID); err != nil {
		t.Fatal(err)
	}
	channel := func(userID, communityID string) string {
		list, err := c.db.Channels(ctx, userID, communityID)
		if err != nil || len(list) == 0 {
			t.Fatalf("channels: %v %v", list, err)
		}
		return list[0].ID
	}
	general, secret := channel(ada.ID, pub.ID), channel(ada.ID, priv.ID)
	second, err := c.db.CreateChannel(ctx, ada.ID, pub.ID, "zwei", "")
	if err != nil {
		t.Fatal(err)
	}
	third, err := c.db.CreateChannel(ctx, ada.ID, pub.ID, "drei", "")
	if err != nil {
		t.Fatal(err)
	}

	pa, pb, pe := dialClient(t, a, ada), dialClient(t, b, bob), dialClient(t, b, eve)
	subscribe := func(p *peer, channelID string) frame {
		p.send(map[string]any{"type": "channel_subscribe", "channelId": channelID})
		return p.expectWhere("", func(f frame) bool {
			return (f.str("type") == "channel_subscribed" && f.str("channelId") == channelID) || f.str("type") == "error"
		})
	}
	for _, p := range []*peer{pa, pb} {
		if f := subscribe(p, general); f.str("type") != "channel_subscribed" || f.str("communityId") != pub.ID {
			t.Fatalf("subscribe = %v", f)
		}
	}
	refused := func(p *peer, channelID, code string) {
		t.Helper()
		if f := subscribe(p, channelID); f.str("type") != "error" || f.str("code") != code || f.str("ref") != channelID {
			t.Fatalf("subscribe %s = %v, want error %s", channelID, f, code)
		}
	}
	refused(pe, general, "forbidden")           // public, not joined
	refused(pb, secret, "not_found")            // private, not a member: as unknown
	refused(pb, "no-such-channel", "not_found") // unknown
	pb.send(map[string]any{"type": "channel_subscribe", "channelId": "nicht gültig"})
	if f := pb.expect("error"); f.str("code") != "invalid_frame" || f.str("field") != "channelId" {
		t.Fatalf("an invalid id got %v", f)
	}
	if f := subscribe(pb, second.ID); f.str("type") != "channel_subscribed" {
		t.Fatalf("second subscription = %v", f)
	}
	refused(pb, third.ID, "too_many_channels")

	// One publish on the channel's topic reaches the subscribers on both
	// instances, and no one else.
	keys := kv.Keys{Prefix: c.prefix}
	rdb, _ := testenv.Redis(t)
	publisher := events.NewPublisher(rdb, keys)
	say := func(text string) string {
		t.Helper()
		s, err := c.db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: ada.ID, ChannelID: general, Content: text, ClientMessageID: "cm-" + text})
		if err != nil {
			t.Fatal(err)
		}
		ev, err := events.NewForChannel(events.ChannelMessageNew, general, map[string]any{"message": s.Message})
		if err != nil {
			t.Fatal(err)
		}
		if n := rdb.PubSubShardNumSub(ctx, keys.ChannelTopic(general)).Val()[keys.ChannelTopic(general)]; n != 2 {
			t.Fatalf("%d instances subscribed to the channel's topic, want 2", n)
		}
		if err := publisher.ToChannel(ctx, ev); err != nil {
			t.Fatal(err)
		}
		return s.Message.ID
	}
	id := say("eins")
	for _, p := range []*peer{pa, pb} {
		f := p.expect("channel_message_new")
		if f.str("channelId") != general || f.obj("data").obj("message").str("id") != id {
			t.Fatalf("channel_message_new = %v", f)
		}
		p.pingPast("channel_message_new") // once
	}
	pe.pingPast("channel_message_new")

	// Bob is banned: the notice on the channel's topic ends his
	// subscription on b before the next message, which only Ada gets.
	if _, err := c.db.BanMember(ctx, ada.ID, pub.ID, bob.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	removed, err := events.NewForChannel(events.ChannelMemberRemoved, general, map[string]string{"userId": bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := publisher.ToChannel(ctx, removed); err != nil {
		t.Fatal(err)
	}
	say("zwei")
	if f := pb.expect("channel_unsubscribed"); f.str("channelId") != general || f.str("reason") != "removed" {
		t.Fatalf("the banned member got %v", f)
	}
	pb.pingPast("channel_message_new")
	pa.expect("channel_message_new")
	pa.pingPast("channel_unsubscribed") // the notice is about Bob only
	refused(pb, general, "forbidden")
	// The ban covers every channel of the community (the ended
	// subscription no longer counts against the limit, so this is checked).
	if f := subscribe(pb, third.ID); f.str("type") != "error" || f.str("code") != "forbidden" {
		t.Fatalf("after the ban, another channel of the community = %v", f)
	}
}

// A member who is not subscribed sees every channel's unread count in
// sync_result.channels, counted from seqs, and its unread mentions (the
// first of two mentions was read), the most recently active first; channels of communities the user is not in (private, public not
// joined, banned from) are not listed.
func TestSyncListsChannelUnreadCounts(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	ctx := context.Background()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	slug := func(s string) string { return s + "-" + strings.ToLower(ada.ID[:8]) }
	pub, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Offen", Slug: slug("offen"), Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	// Another public community Bob never joined.
	if _, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Andere", Slug: slug("andere"), Visibility: "public"}); err != nil {
		t.Fatal(err)
	}
	banned, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Verbannt", Slug: slug("verbannt"), Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Geheim", Slug: slug("geheim"), Visibility: "private"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{pub.ID, banned.ID} {
		if _, err := c.db.JoinCommunity(ctx, bob.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.db.BanMember(ctx, ada.ID, banned.ID, bob.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	list, err := c.db.Channels(ctx, ada.ID, pub.ID)
	if err != nil {
		t.Fatal(err)
	}
	general := list[0].ID
	quiet, err := c.db.CreateChannel(ctx, ada.ID, pub.ID, "ruhig", "")
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range []string{"@bob hallo", "hallo @Bob", "hallo"} { // after quiet was created: general is the most recently active
		if _, err := c.db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: ada.ID, ChannelID: general,
			Content: text, ClientMessageID: "s" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.db.MarkChannelRead(ctx, bob.ID, general, 1); err != nil {
		t.Fatal(err)
	}

	p := dialClient(t, r, bob)
	p.send(map[string]any{"type": "sync"})
	got, _ := p.expect("sync_result")["channels"].([]any)
	var states []frame
	for _, x := range got {
		m, _ := x.(map[string]any)
		states = append(states, m)
	}
	if len(states) != 2 {
		t.Fatalf("sync_result.channels = %v, want general and ruhig of %s only", got, pub.ID)
	}
	want := []struct {
		id                               string
		last, read, unreadWant, mentions int64
	}{{general, 3, 1, 2, 1}, {quiet.ID, 0, 0, 0, 0}}
	for i, w := range want {
		s := states[i]
		if s.str("channelId") != w.id || s.str("communityId") != pub.ID || s.num("lastSeq") != w.last ||
			s.num("lastReadSeq") != w.read || s.num("unreadCount") != w.unreadWant || s.num("mentionCount") != w.mentions {
			t.Fatalf("channels[%d] = %v, want %+v", i, s, w)
		}
	}

	// Looking at a channel (the push trigger's rule): a visible socket that
	// subscribes to it, as the relay writes it in presence.
	rdb, _ := testenv.Redis(t)
	keys := kv.Keys{Prefix: c.prefix}
	watching := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(wait)
		for {
			got, err := presence.WatchingChannelMany(ctx, rdb, keys, []string{bob.ID}, general)
			if err != nil {
				t.Fatal(err)
			}
			if got[bob.ID] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("watching %s = %v, want %v", general, got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	p.send(map[string]any{"type": "focus", "conversationId": nil, "visible": true})
	p.send(map[string]any{"type": "channel_subscribe", "channelId": general})
	p.expect("channel_subscribed")
	watching(true)
	p.send(map[string]any{"type": "channel_unsubscribe", "channelId": general})
	p.expect("channel_unsubscribed")
	watching(false)

	// Someone in no community gets an empty list, not null.
	eve := testenv.NewUser(t, c.db, "Eve")
	pe := dialClient(t, r, eve)
	pe.send(map[string]any{"type": "sync"})
	if l, ok := pe.expect("sync_result")["channels"].([]any); !ok || len(l) != 0 {
		t.Fatalf("sync_result.channels of a user in no community = %v", l)
	}
}
