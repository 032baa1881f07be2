package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// ErrUserGone is a verification row whose user no longer exists.
var ErrUserGone = errors.New("store: the user of this token no longer exists")

// Verification returns the newest unexpired row under identifier without
// using it up (Better Auth's findVerificationValue), or ErrNotFound.
func (db *DB) Verification(ctx context.Context, identifier string, at time.Time) (ari.Verification, error) {
	var v ari.Verification
	err := db.Pool.QueryRow(ctx, `select id, identifier, value, "expiresAt", "createdAt", "updatedAt"
		from "verification" where identifier = $1 order by "createdAt" desc limit 1`, identifier).Scan(
		&v.ID, &v.Identifier, &v.Value, &v.ExpiresAt, &v.CreatedAt, &v.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && !v.ExpiresAt.After(at)) {
		return ari.Verification{}, ErrNotFound
	}
	return v, err
}

// ResetPassword spends the password-reset row under identifier (its value is
// the user's id) and, in the same transaction, ends every session of that
// user and sets the credential password to hash, creating the credential
// account (id accountRowID) when the user had none. It returns the user's id
// and the ids of the sessions that ended. A missing, spent or expired token
// is ErrNotFound and a token whose user was deleted ErrUserGone; either way
// nothing changes.
func (db *DB) ResetPassword(ctx context.Context, identifier string, at time.Time, hash, accountRowID string) (string, []string, error) {
	var userID string
	var sessions []string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var expires time.Time
		err := tx.QueryRow(ctx, `with gone as (delete from "verification" where identifier = $1
			returning value, "expiresAt", "createdAt")
			select value, "expiresAt" from gone order by "createdAt" desc limit 1`, identifier).Scan(&userID, &expires)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && !expires.After(at)) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `select exists(select 1 from "user" where id = $1)`, userID).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return ErrUserGone
		}
		rows, err := tx.Query(ctx, `delete from "session" where "userId" = $1 returning id`, userID)
		if err != nil {
			return err
		}
		if sessions, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `update "account" set password = $2, "updatedAt" = $3
			where "userId" = $1 and "providerId" = 'credential' and "accountId" = $1`, userID, hash, at)
		if err != nil || tag.RowsAffected() > 0 {
			return err
		}
		return insertAccount(ctx, tx, ari.Account{ID: accountRowID, AccountID: userID, ProviderID: CredentialProvider,
			UserID: userID, Password: &hash, CreatedAt: ari.T(at), UpdatedAt: ari.T(at)})
	})
	if err != nil {
		return "", nil, err
	}
	return userID, sessions, nil
}
