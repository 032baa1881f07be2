// Package store is Postgres access through pgx: the pool, the embedded
// migrations, the transaction helper and one file per aggregate. Every method
// that reads or changes user data takes the caller and scopes its WHERE clause.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ari-chat/ari-server/shared/metrics"
)

// Options tune the pool; zero values take the documented defaults.
type Options struct {
	MaxConns       int32         // default 20
	MaxConnIdle    time.Duration // default 30s
	ConnectTimeout time.Duration // default 10s
}

// DB is the application's handle on Postgres.
type DB struct {
	Pool *pgxpool.Pool
}

// Open builds a pool and checks that the server answers.
func Open(ctx context.Context, url string, o Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: DATABASE_URL: %w", err)
	}
	if o.MaxConns == 0 {
		o.MaxConns = 20
	}
	if o.MaxConnIdle == 0 {
		o.MaxConnIdle = 30 * time.Second
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	cfg.MaxConns = o.MaxConns
	cfg.MaxConnIdleTime = o.MaxConnIdle
	cfg.ConnConfig.ConnectTimeout = o.ConnectTimeout
	cfg.ConnConfig.Tracer = metrics.PostgresTracer{} // ari_postgres_round_trip_seconds
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close releases every connection.
func (db *DB) Close() { db.Pool.Close() }

// Ping checks that Postgres answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	return db.Pool.QueryRow(ctx, "select 1").Scan(&one)
}

// Tx runs fn in one transaction, committing when it returns nil.
func (db *DB) Tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, db.Pool, fn)
}

// IsUniqueViolation reports whether err is a unique-constraint violation,
// optionally of the named constraint or index.
func IsUniqueViolation(err error, constraint string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		return false
	}
	return constraint == "" || pe.ConstraintName == constraint
}

// IsCheckViolation reports whether err violates a CHECK constraint.
func IsCheckViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23514"
}

// IsForeignKeyViolation reports whether err violates a foreign key.
func IsForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503"
}

// Unreachable reports whether err means Postgres could not be reached (no
// connection, a connection lost, the server shutting down or out of
// connections) rather than that it refused the statement: the same
// statement may succeed once Postgres is back.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P01-57P03: shutting down or
		// starting; 53300: too many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" ||
			pe.Code == "57P03" || pe.Code == "53300"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || pgconn.Timeout(err) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, context.DeadlineExceeded)
}
