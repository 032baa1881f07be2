package store

import (
	"context"
	"io/fs"

	"github.com/pressly/goose/v3"
)

// MigrateTo applies the migrations up to and including version, as a
// database last migrated by an older release would have them.
func MigrateTo(ctx context.Context, url string, version int64) ([]int64, error) {
	return migrate(ctx, url, func(p *goose.Provider) ([]*goose.MigrationResult, error) { return p.UpTo(ctx, version) })
}

// MigrationVersions lists every embedded migration's version, in order.
func MigrationVersions() ([]int64, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
