package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Two owners leaving at the same moment: the conversation row's lock orders
// them, so exactly one leaves and the other is told it is now the last owner.
func TestLastOwnerGuardUnderConcurrency(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	for round := 0; round < 10; round++ {
		ada, bob := testenv.NewUser(t, db, "ada"), testenv.NewUser(t, db, "bob")
		g, err := db.CreateGroup(ctx, ada.ID, store.NewGroup{Title: "race", UserIDs: []string{bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetGroupRole(ctx, ada.ID, g, bob.ID, store.RoleOwner); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, u := range []string{ada.ID, bob.ID} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.RemoveGroupMember(ctx, u, g, u)
			}()
		}
		wg.Wait()
		left, refused := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				left++
			case errors.Is(err, store.ErrLastOwner):
				refused++
			default:
				t.Fatal(err)
			}
		}
		if left != 1 || refused != 1 {
			t.Fatalf("round %d: %d left, %d refused: %v", round, left, refused, errs)
		}
		var owners int
		if err := db.Pool.QueryRow(ctx, `select count(*) from conversation_members where conversation_id = $1 and role = 'owner'`, g).Scan(&owners); err != nil || owners != 1 {
			t.Fatalf("round %d: %d owners (%v)", round, owners, err)
		}
	}
}

// Deleting and reacting at once: a reaction never survives on a tombstone.
func TestReactionNeverOutlivesDelete(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "ada")
	g, err := db.CreateGroup(ctx, ada.ID, store.NewGroup{Title: "r"})
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 20; round++ {
		var id string
		if err := db.Pool.QueryRow(ctx, `with c as (update conversations set last_seq = last_seq + 1 where id = $1 returning last_seq)
			insert into messages (conversation_id, seq, role, sender_user_id, content) select $1, last_seq, 'user', $2, 'x' from c returning id`,
			g, ada.ID).Scan(&id); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _, _ = db.AddReaction(ctx, ada.ID, id, "👍") }()
		go func() { defer wg.Done(); _, _ = db.DeleteMessage(ctx, ada.ID, id) }()
		wg.Wait()
		var n int
		if err := db.Pool.QueryRow(ctx, `select count(*) from message_reactions where message_id = $1`, id).Scan(&n); err != nil || n != 0 {
			t.Fatalf("round %d: %d reactions on a tombstone (%v)", round, n, err)
		}
	}
}

// MemberUserIDsOf answers for many conversations what MemberUserIDs answers
// for each, in one query; an unknown conversation has no entry.
func TestMemberUserIDsOfMatchesMemberUserIDs(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada, bob, cy := testenv.NewUser(t, db, "ada"), testenv.NewUser(t, db, "bob"), testenv.NewUser(t, db, "cy")
	g1, err := db.CreateGroup(ctx, ada.ID, store.NewGroup{Title: "one", UserIDs: []string{bob.ID, cy.ID}})
	if err != nil {
		t.Fatal(err)
	}
	g2, err := db.CreateGroup(ctx, bob.ID, store.NewGroup{Title: "two", UserIDs: []string{cy.ID}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.MemberUserIDsOf(ctx, []string{g1, g2, "c_unknown"})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{g1, g2} {
		want, err := db.MemberUserIDs(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 2 || !slices.Equal(got[g], want) {
			t.Fatalf("%s: MemberUserIDsOf %v, MemberUserIDs %v", g, got[g], want)
		}
	}
	if _, ok := got["c_unknown"]; ok || len(got) != 2 {
		t.Fatalf("entries %v", got)
	}
}
