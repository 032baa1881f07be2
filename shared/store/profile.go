package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// UpdateProfile sets the user's name and/or image (setImage with a nil image
// clears it) and returns the row as it is now.
func (db *DB) UpdateProfile(ctx context.Context, userID string, name *string, setImage bool, image *string, at time.Time) (ari.User, error) {
	var u ari.User
	err := scanUser(db.Pool.QueryRow(ctx, `update "user" u set name = coalesce($2, name),
		image = case when $3 then $4 else image end, "updatedAt" = $5
		where id = $1 returning `+userColumns, userID, name, setImage, image, at), &u)
	return u, err
}

// ChangeEmail moves the user from oldEmail to newEmail (both lowercased)
// with emailVerified as given. A user no longer at oldEmail is ErrNotFound
// (the token that asked for it is stale); a taken newEmail is ErrEmailTaken.
func (db *DB) ChangeEmail(ctx context.Context, userID, oldEmail, newEmail string, verified bool, at time.Time) (ari.User, error) {
	var u ari.User
	err := scanUser(db.Pool.QueryRow(ctx, `update "user" u set email = $3, "emailVerified" = $4, "updatedAt" = $5
		where id = $1 and lower(email) = $2 returning `+userColumns, userID, oldEmail, newEmail, verified, at), &u)
	if IsUniqueViolation(err, "") {
		return u, ErrEmailTaken
	}
	return u, err
}

// AccountsOf lists the user's accounts (credential and OAuth links), oldest
// first.
func (db *DB) AccountsOf(ctx context.Context, userID string) ([]ari.Account, error) {
	rows, err := db.Pool.Query(ctx, `select id, "accountId", "providerId", "userId", scope, "createdAt", "updatedAt"
		from "account" where "userId" = $1 order by "createdAt", id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Account, error) {
		var a ari.Account
		err := r.Scan(&a.ID, &a.AccountID, &a.ProviderID, &a.UserID, &a.Scope, &a.CreatedAt, &a.UpdatedAt)
		return a, err
	})
}

// ErrLastAccount refuses to unlink the only way a user can sign in.
var ErrLastAccount = errors.New("store: the user's last account")

// UnlinkAccount deletes the user's account row id unless it is their last
// one; another user's row is ErrNotFound. The count and the delete run in one
// transaction with the user's accounts locked, so two concurrent unlinks
// cannot leave a user with none.
func (db *DB) UnlinkAccount(ctx context.Context, userID, id string) error {
	return db.Tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `select id from "account" where "userId" = $1 for update`, userID)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		found := false
		for _, x := range ids {
			found = found || x == id
		}
		switch {
		case len(ids) == 1:
			return ErrLastAccount
		case !found:
			return ErrNotFound
		}
		_, err = tx.Exec(ctx, `delete from "account" where id = $1 and "userId" = $2`, id, userID)
		return err
	})
}
