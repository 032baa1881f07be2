package store

import (
	"context"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrInsufficientCoins: the balance does not cover the price (the
	// database's check on coin_balances refused the debit).
	ErrInsufficientCoins = errors.New("store: not enough coins")
	// ErrKeyReused: the idempotency key already names another movement.
	ErrKeyReused = errors.New("store: idempotency key used for something else")
	// ErrAlreadyInstalled: the user installed this app before (with another key).
	ErrAlreadyInstalled = errors.New("store: app already installed")
)

// Coin movement reasons (coin_transactions.reason).
const (
	ReasonPurchase = "purchase"
	ReasonSale     = "sale"
	ReasonGrant    = "grant"
)

// LedgerCursor is a position in a user's ledger (newest first).
type LedgerCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// Install is an installed app with its purchase row.
type Install struct {
	ari.AppPurchase
	App CatalogueApp `json:"app"`
}

// coinRetries bounds the retries of a movement that lost a race to the
// same key (the loser sees the winner's row on its next attempt).
const coinRetries = 3

// retryable reports a transaction worth running again: a unique violation
// (a concurrent retry of the same key committed first) or a deadlock.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "40P01" || pe.Code == "40001")
}

// CoinBalance returns userID's balance (0 before any movement).
func (db *DB) CoinBalance(ctx context.Context, userID string) (int64, error) {
	var b int64
	err := db.Pool.QueryRow(ctx, `select coalesce((select balance from coin_balances where user_id = $1), 0)`, userID).Scan(&b)
	return b, err
}

const txColumns = `id, user_id, amount, reason, reference_id, balance_after, idempotency_key, created_at`

func scanTx(row pgx.Row) (ari.CoinTransaction, error) {
	var t ari.CoinTransaction
	err := row.Scan(&t.ID, &t.UserID, &t.Amount, &t.Reason, &t.ReferenceID, &t.BalanceAfter, &t.IdempotencyKey, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// CoinLedger lists userID's movements, newest first.
func (db *DB) CoinLedger(ctx context.Context, userID string, after *LedgerCursor, limit int) ([]ari.CoinTransaction, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.CreatedAt, after.ID
	}
	rows, err := db.Pool.Query(ctx, `select `+txColumns+` from coin_transactions
		where user_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3))
		order by created_at desc, id desc limit $4`, userID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.CoinTransaction, error) { return scanTx(r) })
}

// GrantCoins credits userID with amount coins (an operator's grant) once per
// key: a retry with the same key returns the first grant and replay true; the
// key naming another movement is ErrKeyReused; an unknown user ErrNotFound.
func (db *DB) GrantCoins(ctx context.Context, userID string, amount int64, key string) (t ari.CoinTransaction, replay bool, err error) {
	for attempt := 0; ; attempt++ {
		err = db.Tx(ctx, func(tx pgx.Tx) error {
			t, replay = ari.CoinTransaction{}, false
			prev, err := scanTx(tx.QueryRow(ctx, `select `+txColumns+` from coin_transactions
				where user_id = $1 and idempotency_key = $2`, userID, key))
			switch {
			case err == nil:
				if prev.Reason != ReasonGrant || prev.Amount != amount {
					return ErrKeyReused
				}
				t, replay = prev, true
				return nil
			case !errors.Is(err, ErrNotFound):
				return err
			}
			// Never ON CONFLICT here: the balance trigger runs before the
			// conflict check, so a skipped row would still move the balance.
			t, err = scanTx(tx.QueryRow(ctx, `insert into coin_transactions (user_id, amount, reason, idempotency_key)
				values ($1, $2, 'grant', $3) returning `+txColumns, userID, amount, key))
			if IsForeignKeyViolation(err) {
				return ErrNotFound
			}
			return err
		})
		if err == nil || attempt == coinRetries || !retryable(err) {
			return t, replay, err
		}
	}
}

// InstallApp installs appID for userID once per key. A free app (and a
// developer's own) installs without a ledger entry; a paid one debits the
// buyer and credits the developer in the same transaction as the purchase
// row, both ledger rows referencing the app. A retry with the same key
// returns the first install and replay true. Errors: ErrNotFound (no such
// published app), ErrAlreadyInstalled (installed under another key),
// ErrKeyReused (the key names another movement), ErrInsufficientCoins.
func (db *DB) InstallApp(ctx context.Context, userID, appID, key string) (p ari.AppPurchase, replay bool, err error) {
	for attempt := 0; ; attempt++ {
		err = db.Tx(ctx, func(tx pgx.Tx) error {
			p, replay = ari.AppPurchase{}, false
			var price int64
			var status string
			var seller *string
			err := tx.QueryRow(ctx, `select a.price_coins, a.status, d.user_id from apps a
				left join developer_accounts d on d.id = a.developer_id where a.id = $1`, appID).Scan(&price, &status, &seller)
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			if seller == nil || *seller == userID {
				price = 0 // one's own app; an orphaned app is never published
			}
			// Lock the balances first (both in a fixed order, so two people
			// buying each other's apps at once cannot deadlock): a concurrent
			// install by the same user then commits before the checks below
			// run, and they see it (a same-key retry replays instead of being
			// refused for the coins its twin spent).
			users := []string{userID}
			if price > 0 {
				users = append(users, *seller)
			}
			if _, err := tx.Exec(ctx, `insert into coin_balances (user_id) select unnest($1::text[]) on conflict (user_id) do nothing`, users); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `select 1 from coin_balances where user_id = any($1) order by user_id for update`, users); err != nil {
				return err
			}
			if p, err = purchaseWhere(ctx, tx, `user_id = $1 and (app_id = $2 or idempotency_key = $3)
				order by (app_id = $2) desc limit 1`, userID, appID, key); err == nil {
				switch {
				case p.IdempotencyKey != nil && *p.IdempotencyKey == key && p.AppID == appID:
					replay = true
					return nil
				case p.AppID == appID:
					return ErrAlreadyInstalled
				}
				return ErrKeyReused
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
			var used int
			if err := tx.QueryRow(ctx, `select count(*) from coin_transactions where user_id = $1 and idempotency_key = $2`, userID, key).Scan(&used); err != nil {
				return err
			}
			if used > 0 {
				return ErrKeyReused
			}
			if status != ari.AppPublished {
				return ErrNotFound
			}
			id := uuid.NewString()
			var txID *string
			if price > 0 {
				var debit string
				err := tx.QueryRow(ctx, `insert into coin_transactions (user_id, amount, reason, reference_id, idempotency_key)
					values ($1, $2, 'purchase', $3, $4) returning id`, userID, -price, appID, key).Scan(&debit)
				if IsCheckViolation(err) {
					return ErrInsufficientCoins
				} else if err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `insert into coin_transactions (user_id, amount, reason, reference_id)
					values ($1, $2, 'sale', $3)`, *seller, price, appID); err != nil {
					return err
				}
				txID = &debit
			}
			if _, err := tx.Exec(ctx, `insert into app_purchases (id, user_id, app_id, transaction_id, price_coins, idempotency_key)
				values ($1, $2, $3, $4, $5, $6)`, id, userID, appID, txID, price, key); err != nil {
				return err
			}
			p, err = purchaseWhere(ctx, tx, `id = $1`, id)
			return err
		})
		if err == nil || attempt == coinRetries || !retryable(err) {
			return p, replay, err
		}
	}
}

func purchaseWhere(ctx context.Context, tx pgx.Tx, where string, args ...any) (ari.AppPurchase, error) {
	var p ari.AppPurchase
	err := tx.QueryRow(ctx, `select id, user_id, app_id, transaction_id, price_coins, idempotency_key, created_at
		from app_purchases where `+where, args...).
		Scan(&p.ID, &p.UserID, &p.AppID, &p.TransactionID, &p.PriceCoins, &p.IdempotencyKey, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, ErrNotFound
	}
	return p, err
}

// Installs lists the apps userID installed, newest first.
func (db *DB) Installs(ctx context.Context, userID string, after *LedgerCursor, limit int) ([]Install, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.CreatedAt, after.ID
	}
	rows, err := db.Pool.Query(ctx, `select p.id, p.user_id, p.app_id, p.transaction_id, p.price_coins, p.idempotency_key, p.created_at,
			`+appColumns+`, d.display_name, `+latestVersion+`
		from app_purchases p join apps a on a.id = p.app_id left join developer_accounts d on d.id = a.developer_id
		where p.user_id = $1 and ($2::timestamptz is null or (p.created_at, p.id) < ($2, $3))
		order by p.created_at desc, p.id desc limit $4`, userID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Install, error) {
		var in Install
		dest := []any{&in.ID, &in.UserID, &in.AppID, &in.TransactionID, &in.PriceCoins, &in.IdempotencyKey, &in.CreatedAt}
		dest = append(dest, appDest(&in.App.App)...)
		err := r.Scan(append(dest, &in.App.DeveloperName, &in.App.LatestVersion)...)
		return in, err
	})
}
