package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/store"
)

// TestUser is a signed-in user made directly in the database.
type TestUser struct {
	ID, Name, Email string
	// Token is the bare session token: send it as `Authorization: Bearer <Token>`.
	Token string
}

// NewUser inserts a user and a 1-day session for tests that need a caller.
func NewUser(t testing.TB, db *store.DB, name string) TestUser {
	t.Helper()
	u := TestUser{ID: auth.GenerateID(32), Name: name, Email: name + "-" + RandomID(4) + "@example.com", Token: auth.GenerateID(32)}
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `insert into "user"(id, name, email, "emailVerified") values ($1,$2,$3,false)`, u.ID, u.Name, u.Email); err != nil {
		t.Fatalf("testenv: new user: %v", err)
	}
	if _, err := db.Pool.Exec(ctx, `insert into "session"(id, token, "userId", "expiresAt", "updatedAt", "ipAddress", "userAgent")
		values ($1,$2,$3,$4,now(),'','')`, auth.GenerateID(32), u.Token, u.ID, time.Now().Add(24*time.Hour)); err != nil {
		t.Fatalf("testenv: new session: %v", err)
	}
	return u
}
