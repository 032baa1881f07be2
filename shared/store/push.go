package store

import (
	"context"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// MaxPushSubscriptionsPerUser bounds a user's subscriptions. Browsers drop
// subscriptions without telling us (cleared site data, reinstalls), so when a
// new one would exceed the bound the least recently used one goes, rather
// than refusing the device the user is holding now.
const MaxPushSubscriptionsPerUser = 20

// UpsertPushSubscription stores s for userID, keyed by its endpoint, and
// reports whether the endpoint is new to this user (true: inserted, or taken
// over from another user; false: this user's existing row was refreshed).
//
// An endpoint already owned by another user is re-assigned to userID: an
// endpoint is a capability held by the browser, and whoever is signed in on
// that browser now is who it should notify. Leaving it with the previous
// user would push their messages to a device someone else now uses.
func (db *DB) UpsertPushSubscription(ctx context.Context, userID string, s ari.PushSubscription) (created bool, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		// The CTE reads the row as it was before the upsert, so prev says
		// whose it was; the statement's row lock serialises concurrent
		// subscribes of the same endpoint.
		var prev *string
		if err := tx.QueryRow(ctx, `
			with prev as (select user_id from push_subscriptions where endpoint = $2)
			insert into push_subscriptions (user_id, endpoint, p256dh, auth, user_agent)
			values ($1, $2, $3, $4, $5)
			on conflict (endpoint) do update set
				user_id = excluded.user_id,
				p256dh = excluded.p256dh,
				auth = excluded.auth,
				user_agent = excluded.user_agent,
				created_at = case when push_subscriptions.user_id = excluded.user_id
					then push_subscriptions.created_at else now() end,
				last_used_at = case when push_subscriptions.user_id = excluded.user_id
					then push_subscriptions.last_used_at end
			returning (select user_id from prev)`,
			userID, s.Endpoint, s.P256dh, s.Auth, s.UserAgent).Scan(&prev); err != nil {
			return err
		}
		created = prev == nil || *prev != userID
		if !created {
			return nil
		}
		_, err := tx.Exec(ctx, `
			delete from push_subscriptions where id in (
				select id from push_subscriptions where user_id = $1
				order by coalesce(last_used_at, created_at) desc, id desc
				offset $2)`, userID, MaxPushSubscriptionsPerUser)
		return err
	})
	return created, err
}

// DeletePushSubscription removes the caller's subscription for endpoint;
// ErrNotFound when the caller has none for it, including when the endpoint
// belongs to someone else (which then stays untouched).
func (db *DB) DeletePushSubscription(ctx context.Context, userID, endpoint string) error {
	tag, err := db.Pool.Exec(ctx, `delete from push_subscriptions where user_id = $1 and endpoint = $2`, userID, endpoint)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteGonePushSubscription removes a subscription the push service said no
// longer exists (404/410). It matches the keys too, so a browser that
// re-subscribed the same endpoint with fresh keys meanwhile keeps its row.
func (db *DB) DeleteGonePushSubscription(ctx context.Context, userID string, s ari.PushSubscription) error {
	_, err := db.Pool.Exec(ctx, `delete from push_subscriptions
		where user_id = $1 and endpoint = $2 and p256dh = $3 and auth = $4`, userID, s.Endpoint, s.P256dh, s.Auth)
	return err
}

// PushSubscriptions lists the caller's subscriptions, newest first.
func (db *DB) PushSubscriptions(ctx context.Context, userID string) ([]ari.PushSubscription, error) {
	return db.pushSubscriptions(ctx, `where user_id = $1`, userID)
}

// PushSubscriptionsOf lists the subscriptions of several users, for one
// notification fan-out.
func (db *DB) PushSubscriptionsOf(ctx context.Context, userIDs []string) ([]ari.PushSubscription, error) {
	if len(userIDs) == 0 {
		return nil, nil
	}
	return db.pushSubscriptions(ctx, `where user_id = any($1)`, userIDs)
}

func (db *DB) pushSubscriptions(ctx context.Context, where string, arg any) ([]ari.PushSubscription, error) {
	rows, err := db.Pool.Query(ctx, `select id, user_id, endpoint, p256dh, auth, user_agent, created_at, last_used_at
		from push_subscriptions `+where+` order by created_at desc, id desc`, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.PushSubscription, error) {
		var s ari.PushSubscription
		err := r.Scan(&s.ID, &s.UserID, &s.Endpoint, &s.P256dh, &s.Auth, &s.UserAgent, &s.CreatedAt, &s.LastUsedAt)
		return s, err
	})
}

// MarkPushSubscriptionsUsed records a delivery to the given subscriptions,
// which keeps them from being the first evicted.
func (db *DB) MarkPushSubscriptionsUsed(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := db.Pool.Exec(ctx, `update push_subscriptions set last_used_at = now() where id = any($1)`, ids)
	return err
}
