package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Better Auth's tables (00001_better_auth.sql) queried exactly as Better Auth
// queries them, so rows written by either server read the same on both.

// CredentialProvider is the providerId of email-and-password accounts. The
// credential account's accountId is the user's own id.
const CredentialProvider = "credential"

// ErrEmailTaken is returned when a user with the email already exists.
var ErrEmailTaken = errors.New("store: email already registered")

const userColumns = `u.id, u.name, u.email, u."emailVerified", u.image, u."createdAt", u."updatedAt"`

func scanUser(row pgx.Row, u *ari.User, extra ...any) error {
	dst := append([]any{&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Image, &u.CreatedAt, &u.UpdatedAt}, extra...)
	err := row.Scan(dst...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// UserByEmail finds a user by email. Callers pass it lowercased, as Better
// Auth stores and looks it up.
func (db *DB) UserByEmail(ctx context.Context, email string) (ari.User, error) {
	var u ari.User
	err := scanUser(db.Pool.QueryRow(ctx, `select `+userColumns+` from "user" u where u.email = $1`, email), &u)
	return u, err
}

// UserByID finds a user by id.
func (db *DB) UserByID(ctx context.Context, id string) (ari.User, error) {
	var u ari.User
	err := scanUser(db.Pool.QueryRow(ctx, `select `+userColumns+` from "user" u where u.id = $1`, id), &u)
	return u, err
}

// CredentialPassword returns the password hash of the user's credential
// account, or ErrNotFound when there is none or it has no password.
func (db *DB) CredentialPassword(ctx context.Context, userID string) (string, error) {
	var hash *string
	err := db.Pool.QueryRow(ctx, `select password from "account"
		where "userId" = $1 and "providerId" = $2 and "accountId" = $1
		order by "createdAt" limit 1`, userID, CredentialProvider).Scan(&hash)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (hash == nil || *hash == "")) {
		return "", ErrNotFound
	}
	return deref(hash), err
}

// SetPassword replaces the hash in the user's credential account.
func (db *DB) SetPassword(ctx context.Context, userID, hash string) error {
	tag, err := db.Pool.Exec(ctx, `update "account" set password = $2, "updatedAt" = $3
		where "userId" = $1 and "providerId" = 'credential' and "accountId" = $1`, userID, hash, now())
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// CreateUser inserts u and its first account in one transaction: a
// credential account when a.ProviderID is CredentialProvider, an OAuth link
// otherwise. A taken email is ErrEmailTaken.
func (db *DB) CreateUser(ctx context.Context, u ari.User, a ari.Account) error {
	if u.CreatedAt.IsZero() {
		u.CreatedAt = ari.T(now())
	}
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = u.CreatedAt
	}
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `insert into "user"(id, name, email, "emailVerified", image, "createdAt", "updatedAt")
			values ($1,$2,$3,$4,$5,$6,$7)`, u.ID, u.Name, u.Email, u.EmailVerified, u.Image, u.CreatedAt, u.UpdatedAt); err != nil {
			return err
		}
		return insertAccount(ctx, tx, a)
	})
	if IsUniqueViolation(err, "") {
		return ErrEmailTaken
	}
	return err
}

// LinkAccount adds an OAuth account to an existing user.
func (db *DB) LinkAccount(ctx context.Context, a ari.Account) error {
	return insertAccount(ctx, db.Pool, a)
}

// execer is what a pool and a transaction share.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func insertAccount(ctx context.Context, ex execer, a ari.Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = ari.T(now())
	}
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = a.CreatedAt
	}
	_, err := ex.Exec(ctx, `insert into "account"(id, "accountId", "providerId", "userId", "accessToken", "refreshToken",
		"idToken", "accessTokenExpiresAt", "refreshTokenExpiresAt", scope, password, "createdAt", "updatedAt")
		values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
		a.ID, a.AccountID, a.ProviderID, a.UserID, a.AccessToken, a.RefreshToken, a.IDToken,
		a.AccessTokenExpiresAt, a.RefreshTokenExpiresAt, a.Scope, a.Password, a.CreatedAt, a.UpdatedAt)
	return err
}

// AccountByProvider finds the account (provider, provider's user id) and its
// user. Better Auth keeps this pair unique in code, not in the schema; the
// oldest row wins if a race ever made two.
func (db *DB) AccountByProvider(ctx context.Context, providerID, accountID string) (ari.Account, ari.User, error) {
	var a ari.Account
	var u ari.User
	err := scanUser(db.Pool.QueryRow(ctx, `select `+userColumns+`, a.id, a."accountId", a."providerId", a."userId"
		from "account" a join "user" u on u.id = a."userId"
		where a."providerId" = $1 and a."accountId" = $2
		order by a."createdAt" limit 1`, providerID, accountID), &u, &a.ID, &a.AccountID, &a.ProviderID, &a.UserID)
	return a, u, err
}

// UpdateAccountTokens stores the tokens of a new OAuth sign-in. The scope is
// left as it was, as Better Auth does on sign-in.
func (db *DB) UpdateAccountTokens(ctx context.Context, a ari.Account) error {
	_, err := db.Pool.Exec(ctx, `update "account" set "accessToken" = $2, "refreshToken" = coalesce($3, "refreshToken"),
		"idToken" = coalesce($4, "idToken"), "accessTokenExpiresAt" = $5,
		"refreshTokenExpiresAt" = coalesce($6, "refreshTokenExpiresAt"), "updatedAt" = $7
		where id = $1`, a.ID, a.AccessToken, a.RefreshToken, a.IDToken, a.AccessTokenExpiresAt, a.RefreshTokenExpiresAt, now())
	return err
}

// MarkEmailVerified sets emailVerified, when a provider vouches for the
// address of an existing user.
func (db *DB) MarkEmailVerified(ctx context.Context, userID string) error {
	_, err := db.Pool.Exec(ctx, `update "user" set "emailVerified" = true, "updatedAt" = $2 where id = $1`, userID, now())
	return err
}

// CreateSession inserts a session row.
func (db *DB) CreateSession(ctx context.Context, s ari.Session) error {
	_, err := db.Pool.Exec(ctx, `insert into "session"(id, token, "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent")
		values ($1,$2,$3,$4,$5,$6,$7,$8)`, s.ID, s.Token, s.UserID, s.ExpiresAt, s.CreatedAt, s.UpdatedAt, s.IPAddress, s.UserAgent)
	return err
}

// ExtendSession moves a session's expiry (a refresh on use). The token is
// not rotated: Better Auth never rotates it either.
func (db *DB) ExtendSession(ctx context.Context, id string, expiresAt, updatedAt time.Time) error {
	_, err := db.Pool.Exec(ctx, `update "session" set "expiresAt" = $2, "updatedAt" = $3 where id = $1`, id, expiresAt, updatedAt)
	return err
}

// DeleteSessionByToken ends the session with token, if any, and returns
// its user and id ("" when there was none), so the sockets it opened can be
// told to close.
func (db *DB) DeleteSessionByToken(ctx context.Context, token string) (userID, sessionID string, err error) {
	err = db.Pool.QueryRow(ctx, `delete from "session" where token = $1 returning "userId", id`, token).Scan(&userID, &sessionID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", nil
	}
	return userID, sessionID, err
}

// SessionsOf lists the user's unexpired sessions, oldest first.
func (db *DB) SessionsOf(ctx context.Context, userID string) ([]ari.Session, error) {
	rows, err := db.Pool.Query(ctx, `select id, token, "userId", "expiresAt", "createdAt", "updatedAt", "ipAddress", "userAgent"
		from "session" where "userId" = $1 and "expiresAt" > now() order by "createdAt", id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Session, error) {
		var s ari.Session
		err := r.Scan(&s.ID, &s.Token, &s.UserID, &s.ExpiresAt, &s.CreatedAt, &s.UpdatedAt, &s.IPAddress, &s.UserAgent)
		return s, err
	})
}

// DeleteUserSession ends one of the user's own sessions by token; a token
// of someone else's session is left alone. It returns the id of the session
// that went ("" for none).
func (db *DB) DeleteUserSession(ctx context.Context, userID, token string) (string, error) {
	var id string
	err := db.Pool.QueryRow(ctx, `delete from "session" where "userId" = $1 and token = $2 returning id`, userID, token).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// DeleteOtherSessions ends every session of the user except keepToken's and
// returns the ids of those that went.
func (db *DB) DeleteOtherSessions(ctx context.Context, userID, keepToken string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `delete from "session" where "userId" = $1 and token <> $2 returning id`, userID, keepToken)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// CreateVerification stores a short-lived value (OAuth state) under identifier.
func (db *DB) CreateVerification(ctx context.Context, v ari.Verification) error {
	_, err := db.Pool.Exec(ctx, `insert into "verification"(id, identifier, value, "expiresAt", "createdAt", "updatedAt")
		values ($1,$2,$3,$4,$5,$6)`, v.ID, v.Identifier, v.Value, v.ExpiresAt, v.CreatedAt, v.UpdatedAt)
	return err
}

// TakeVerification deletes every row under identifier and returns the
// newest, so a value can be used once only even by two concurrent callers.
// Expiry is the caller's to check.
func (db *DB) TakeVerification(ctx context.Context, identifier string) (ari.Verification, error) {
	var v ari.Verification
	err := db.Pool.QueryRow(ctx, `with gone as (delete from "verification" where identifier = $1
		returning id, identifier, value, "expiresAt", "createdAt", "updatedAt")
		select * from gone order by "createdAt" desc limit 1`, identifier).Scan(
		&v.ID, &v.Identifier, &v.Value, &v.ExpiresAt, &v.CreatedAt, &v.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, ErrNotFound
	}
	return v, err
}

// now is the current time as Better Auth writes it: UTC, milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
