package store_test

import (
	"testing"

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
