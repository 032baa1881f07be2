package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrate applies every pending migration to the database at url and returns
// the versions it applied. It is safe to run again: applied versions are kept
// in goose's version table and a Postgres advisory lock serialises migrators.
func Migrate(ctx context.Context, url string) ([]int64, error) {
	return migrate(ctx, url, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.Up(ctx) })
}

// migrate runs step with a provider over the embedded migrations.
func migrate(ctx context.Context, url string, step func(*goose.Provider) ([]*goose.MigrationResult, error)) ([]int64, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer sqldb.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqldb, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	res, err := step(p)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []int64
	for _, r := range res {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}

var _ = stdlib.GetDefaultDriver // registers the "pgx" database/sql driver
