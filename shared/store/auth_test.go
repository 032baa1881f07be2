package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func newCredentialUser(t *testing.T, db *store.DB, email, hash string) ari.User {
	t.Helper()
	now := ari.T(time.Now().UTC().Truncate(time.Millisecond))
	u := ari.User{ID: auth.GenerateID(32), Name: "N", Email: email, CreatedAt: now, UpdatedAt: now}
	a := ari.Account{ID: auth.GenerateID(32), AccountID: u.ID, ProviderID: store.CredentialProvider, UserID: u.ID,
		Password: &hash, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(context.Background(), u, a); err != nil {
		t.Fatal(err)
	}
	return u
}

func TestCredentialUser(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	email := "cred-" + testenv.RandomID(4) + "@example.com"
	u := newCredentialUser(t, db, email, "h1")
	got, err := db.UserByEmail(ctx, email)
	if err != nil || got.ID != u.ID || got.EmailVerified {
		t.Fatalf("UserByEmail = %+v, %v", got, err)
	}
	if h, err := db.CredentialPassword(ctx, u.ID); err != nil || h != "h1" {
		t.Fatalf("CredentialPassword = %q, %v", h, err)
	}
	if err := db.SetPassword(ctx, u.ID, "h2"); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.CredentialPassword(ctx, u.ID); h != "h2" {
		t.Fatalf("after SetPassword: %q", h)
	}
	// The same email again is refused, and nothing is left half-written.
	err = db.CreateUser(ctx, ari.User{ID: auth.GenerateID(32), Name: "x", Email: email},
		ari.Account{ID: auth.GenerateID(32), AccountID: "x", ProviderID: "credential", UserID: "x"})
	if !errors.Is(err, store.ErrEmailTaken) {
		t.Fatalf("duplicate email: %v", err)
	}
	if _, err := db.CredentialPassword(ctx, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("orphan account written: %v", err)
	}
	if _, err := db.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
}

func TestSessionsScopedToUser(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	alice := testenv.NewUser(t, db, "alice")
	bob := testenv.NewUser(t, db, "bob")
	now := time.Now().UTC().Truncate(time.Millisecond)
	second := ari.Session{ID: auth.GenerateID(32), Token: auth.GenerateID(32), UserID: alice.ID,
		ExpiresAt: ari.T(now.Add(time.Hour)), CreatedAt: ari.T(now), UpdatedAt: ari.T(now)}
	if err := db.CreateSession(ctx, second); err != nil {
		t.Fatal(err)
	}
	list, err := db.SessionsOf(ctx, alice.ID)
	if err != nil || len(list) != 2 {
		t.Fatalf("SessionsOf = %d, %v", len(list), err)
	}
	// Bob cannot end Alice's session by naming its token.
	if id, err := db.DeleteUserSession(ctx, bob.ID, second.Token); id != "" || err != nil {
		t.Fatalf("foreign delete = %q, %v", id, err)
	}
	if ids, err := db.DeleteOtherSessions(ctx, alice.ID, alice.Token); len(ids) != 1 || ids[0] != second.ID || err != nil {
		t.Fatalf("DeleteOtherSessions = %v, %v", ids, err)
	}
	if _, _, err := db.SessionByToken(ctx, alice.Token); err != nil {
		t.Fatalf("kept session gone: %v", err)
	}
	if _, _, err := db.SessionByToken(ctx, bob.Token); err != nil {
		t.Fatalf("bob's session touched: %v", err)
	}
	exp := now.Add(48 * time.Hour)
	if err := db.ExtendSession(ctx, second.ID, exp, now); err != nil {
		t.Fatal(err)
	}
	if u, id, err := db.DeleteSessionByToken(ctx, alice.Token); err != nil || u != alice.ID || id == "" {
		t.Fatalf("DeleteSessionByToken = %q, %q, %v", u, id, err)
	}
	if u, id, err := db.DeleteSessionByToken(ctx, alice.Token); err != nil || u != "" || id != "" {
		t.Fatalf("DeleteSessionByToken again = %q, %q, %v", u, id, err)
	}
	if _, _, err := db.SessionByToken(ctx, alice.Token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
}

func TestVerificationIsSingleUse(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	id := "auth-state:" + testenv.RandomID(8)
	v := ari.Verification{ID: auth.GenerateID(32), Identifier: id, Value: `{"a":1}`,
		ExpiresAt: ari.T(now.Add(10 * time.Minute)), CreatedAt: ari.T(now), UpdatedAt: ari.T(now)}
	if err := db.CreateVerification(ctx, v); err != nil {
		t.Fatal(err)
	}
	got, err := db.TakeVerification(ctx, id)
	if err != nil || got.Value != v.Value || !got.ExpiresAt.Equal(v.ExpiresAt.Time) {
		t.Fatalf("TakeVerification = %+v, %v", got, err)
	}
	if _, err := db.TakeVerification(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second take: %v", err)
	}
}

func TestOAuthAccounts(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := newCredentialUser(t, db, "oauth-"+testenv.RandomID(4)+"@example.com", "h")
	now := ari.T(time.Now().UTC().Truncate(time.Millisecond))
	at, scope := "at1", "read:user,user:email"
	providerID := "gh-" + testenv.RandomID(4) // unique: the package database outlives one -count
	a := ari.Account{ID: auth.GenerateID(32), AccountID: providerID, ProviderID: "github", UserID: u.ID,
		AccessToken: &at, Scope: &scope, CreatedAt: now, UpdatedAt: now}
	if err := db.LinkAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	got, owner, err := db.AccountByProvider(ctx, "github", providerID)
	if err != nil || got.ID != a.ID || owner.ID != u.ID {
		t.Fatalf("AccountByProvider = %+v %+v %v", got, owner, err)
	}
	if _, _, err := db.AccountByProvider(ctx, "google", providerID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other provider: %v", err)
	}
	at2 := "at2"
	if err := db.UpdateAccountTokens(ctx, ari.Account{ID: a.ID, AccessToken: &at2}); err != nil {
		t.Fatal(err)
	}
	var gotAT, gotScope string
	if err := db.Pool.QueryRow(ctx, `select "accessToken", scope from "account" where id = $1`, a.ID).Scan(&gotAT, &gotScope); err != nil {
		t.Fatal(err)
	}
	if gotAT != "at2" || gotScope != scope {
		t.Fatalf("after update: %q %q", gotAT, gotScope)
	}
	if err := db.MarkEmailVerified(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.UserByID(ctx, u.ID); !v.EmailVerified {
		t.Fatal("email not verified")
	}
}
