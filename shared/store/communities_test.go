package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// TestEraseHandsCommunitiesOn deletes a community's only owner: the
// longest-standing admin becomes its owner (else the longest-standing
// member), and a community with another owner keeps it.
func TestEraseHandsCommunitiesOn(t *testing.T) {
	db := testenv.DB(t)
	ctx := t.Context()
	ada := testenv.NewUser(t, db, "ada")
	bob := testenv.NewUser(t, db, "bob")
	cat := testenv.NewUser(t, db, "cat")
	c, err := db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "A", Slug: "a", Visibility: store.VisibilityPublic})
	if err != nil {
		t.Fatal(err)
	}
	solo, err := db.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Solo", Slug: "solo", Visibility: store.VisibilityPrivate})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{bob.ID, cat.ID} {
		if _, err := db.JoinCommunity(ctx, u, c.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.SetCommunityRole(ctx, ada.ID, c.ID, cat.ID, store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := db.EraseUser(ctx, ada.ID); err != nil {
		t.Fatal(err)
	}
	got, err := db.Community(ctx, cat.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.MyRole == nil || *got.MyRole != store.RoleOwner || got.OwnerID == nil || *got.OwnerID != cat.ID || got.MemberCount != 2 {
		t.Fatalf("after erasing the owner: %+v (role %v)", got, got.MyRole)
	}
	// A community with no one left keeps existing without an owner; nobody can see it.
	if _, err := db.Community(ctx, bob.ID, solo.ID); err == nil {
		t.Fatal("an outsider sees a private community")
	}
}

// The member count follows inserts and deletes of many members in one
// statement (an import, a seed) exactly, each statement updating the
// community once (migration 00032; the row trigger before it was quadratic
// in one statement).
func TestCommunityMemberCountInBulk(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	owner := testenv.NewUser(t, db, "Owner")
	c, err := db.CreateCommunity(ctx, owner.ID, store.NewCommunity{Name: "Bulk", Slug: "bulk-" + strings.ToLower(testenv.RandomID(6)), Visibility: store.VisibilityPublic})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.CreateCommunity(ctx, owner.ID, store.NewCommunity{Name: "Other", Slug: "other-" + strings.ToLower(testenv.RandomID(6)), Visibility: store.VisibilityPublic})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "bulk-" + testenv.RandomID(12)
	}
	if _, err := db.Pool.Exec(ctx, `insert into "user" (id, name, email, "emailVerified")
		select u, 'Bulk', u || '@example.test', true from unnest($1::text[]) u`, ids); err != nil {
		t.Fatal(err)
	}
	count := func(id string) int {
		t.Helper()
		var k int
		if err := db.Pool.QueryRow(ctx, `select member_count from communities where id = $1`, id).Scan(&k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	start := time.Now()
	// One statement into two communities: each counted by its own.
	if _, err := db.Pool.Exec(ctx, `insert into community_members (community_id, user_id)
		select case when n % 3 = 0 then $2 else $1 end, u from unnest($3::text[]) with ordinality as t(u, n)`, c.ID, other.ID, ids); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d members inserted in one statement in %s", n, time.Since(start).Round(time.Millisecond))
	if got, want := count(c.ID), 1+n-n/3; got != want {
		t.Fatalf("member_count %d, want %d", got, want)
	}
	if got, want := count(other.ID), 1+n/3; got != want {
		t.Fatalf("other's member_count %d, want %d", got, want)
	}
	if _, err := db.Pool.Exec(ctx, `delete from community_members where user_id = any($1::text[]) and community_id = $2`, ids[:1000], c.ID); err != nil {
		t.Fatal(err)
	}
	var stillIn int
	if err := db.Pool.QueryRow(ctx, `select count(*) from community_members where community_id = $1`, c.ID).Scan(&stillIn); err != nil {
		t.Fatal(err)
	}
	if got := count(c.ID); got != stillIn {
		t.Fatalf("after a bulk delete member_count %d, members %d", got, stillIn)
	}
	if _, err := db.JoinCommunity(ctx, ids[0], c.ID); err != nil && !errors.Is(err, store.ErrAlreadyMember) {
		t.Fatal(err)
	}
	if got, want := count(c.ID), stillIn+1; got != want {
		t.Fatalf("after one join member_count %d, want %d", got, want)
	}
}
