package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func pushSub(endpoint, keys string) ari.PushSubscription {
	return ari.PushSubscription{Endpoint: endpoint, P256dh: "p-" + keys, Auth: "a-" + keys, UserAgent: "test"}
}

func endpoints(t *testing.T, db *store.DB, userID string) map[string]ari.PushSubscription {
	t.Helper()
	subs, err := db.PushSubscriptions(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ari.PushSubscription{}
	for _, s := range subs {
		out[s.Endpoint] = s
	}
	return out
}

func TestPushSubscriptionUpsertAndOwnership(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ann := testenv.NewUser(t, db, "push-ann")
	bob := testenv.NewUser(t, db, "push-bob")
	ep := "https://push.example.com/" + testenv.RandomID(8)

	if created, err := db.UpsertPushSubscription(ctx, ann.ID, pushSub(ep, "1")); err != nil || !created {
		t.Fatalf("first subscribe: created=%v err=%v", created, err)
	}
	if created, err := db.UpsertPushSubscription(ctx, ann.ID, pushSub(ep, "2")); err != nil || created {
		t.Fatalf("re-subscribe by owner: created=%v err=%v, want an update", created, err)
	}
	if got := endpoints(t, db, ann.ID)[ep]; got.P256dh != "p-2" || got.Auth != "a-2" {
		t.Fatalf("keys not refreshed: %+v", got)
	}

	// Bob cannot delete Ann's endpoint: not found, and it stays Ann's.
	if err := db.DeletePushSubscription(ctx, bob.ID, ep); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("foreign delete: %v", err)
	}
	if _, ok := endpoints(t, db, ann.ID)[ep]; !ok {
		t.Fatal("foreign delete removed the row")
	}

	// Bob signs in on the same browser: the endpoint moves to him.
	if created, err := db.UpsertPushSubscription(ctx, bob.ID, pushSub(ep, "3")); err != nil || !created {
		t.Fatalf("take-over: created=%v err=%v", created, err)
	}
	if _, ok := endpoints(t, db, ann.ID)[ep]; ok {
		t.Fatal("endpoint still notifies its previous user")
	}
	if got := endpoints(t, db, bob.ID)[ep]; got.P256dh != "p-3" || got.LastUsedAt != nil {
		t.Fatalf("taken-over row: %+v", got)
	}

	// A gone report with stale keys leaves the fresh subscription alone.
	if err := db.DeleteGonePushSubscription(ctx, bob.ID, pushSub(ep, "2")); err != nil {
		t.Fatal(err)
	}
	if _, ok := endpoints(t, db, bob.ID)[ep]; !ok {
		t.Fatal("gone report with old keys deleted the re-subscribed row")
	}
	if err := db.DeleteGonePushSubscription(ctx, bob.ID, pushSub(ep, "3")); err != nil {
		t.Fatal(err)
	}
	if _, ok := endpoints(t, db, bob.ID)[ep]; ok {
		t.Fatal("gone subscription kept")
	}
	if err := db.DeletePushSubscription(ctx, bob.ID, ep); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete of a deleted endpoint: %v", err)
	}
}

func TestPushSubscriptionsBoundedPerUser(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "push-many")
	first := ""
	for i := range store.MaxPushSubscriptionsPerUser + 3 {
		ep := fmt.Sprintf("https://push.example.com/many/%s/%d", u.ID, i)
		if i == 0 {
			first = ep
		}
		if _, err := db.UpsertPushSubscription(ctx, u.ID, pushSub(ep, "k")); err != nil {
			t.Fatal(err)
		}
		if i == store.MaxPushSubscriptionsPerUser-1 {
			// The oldest was used just now: it must survive the eviction of
			// the unused ones that came after it.
			subs := endpoints(t, db, u.ID)
			if err := db.MarkPushSubscriptionsUsed(ctx, []string{subs[first].ID}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := endpoints(t, db, u.ID)
	if len(got) != store.MaxPushSubscriptionsPerUser {
		t.Fatalf("%d subscriptions kept, want %d", len(got), store.MaxPushSubscriptionsPerUser)
	}
	if _, ok := got[first]; !ok {
		t.Fatal("the recently used subscription was evicted")
	}
	all, err := db.PushSubscriptionsOf(ctx, []string{u.ID, "nobody"})
	if err != nil || len(all) != store.MaxPushSubscriptionsPerUser {
		t.Fatalf("PushSubscriptionsOf: %d, %v", len(all), err)
	}
}
