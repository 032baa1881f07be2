package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// ErrNotFound is returned when a row does not exist (or is not the caller's).
var ErrNotFound = errors.New("store: not found")

// SessionByToken returns the session with token and its user. An expired
// session is deleted and reported as ErrNotFound, as Better Auth does.
func (db *DB) SessionByToken(ctx context.Context, token string) (ari.Session, ari.User, error) {
	var s ari.Session
	var u ari.User
	err := db.Pool.QueryRow(ctx, `
		select s.id, s.token, s."userId", s."expiresAt", s."createdAt", s."updatedAt", s."ipAddress", s."userAgent",
		       u.id, u.name, u.email, u."emailVerified", u.image, u."createdAt", u."updatedAt"
		from "session" s join "user" u on u.id = s."userId"
		where s.token = $1`, token).Scan(
		&s.ID, &s.Token, &s.UserID, &s.ExpiresAt, &s.CreatedAt, &s.UpdatedAt, &s.IPAddress, &s.UserAgent,
		&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Image, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s, u, ErrNotFound
	}
	if err != nil {
		return s, u, err
	}
	if !s.ExpiresAt.After(time.Now()) {
		if _, err := db.Pool.Exec(ctx, `delete from "session" where id = $1`, s.ID); err != nil {
			return s, u, err
		}
		return s, u, ErrNotFound
	}
	return s, u, nil
}

// LiveSessionUser returns the user of the session with id when that session
// exists and has not expired; otherwise ErrNotFound.
func (db *DB) LiveSessionUser(ctx context.Context, sessionID string) (ari.User, error) {
	var u ari.User
	err := db.Pool.QueryRow(ctx, `
		select u.id, u.name, u.email, u."emailVerified", u.image, u."createdAt", u."updatedAt"
		from "session" s join "user" u on u.id = s."userId"
		where s.id = $1 and s."expiresAt" > now()`, sessionID).Scan(
		&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Image, &u.CreatedAt, &u.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, ErrNotFound
	}
	return u, err
}
