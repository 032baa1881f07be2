package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/betterauth"
	"github.com/jackc/pgx/v5"
)

// TestBetterAuthTablesMatch compares, column by column (name, type,
// nullability, default), the four tables our migrations create with the ones
// stock Better Auth's own migrator creates in an empty database; and their
// indexes and constraints.
func TestBetterAuthTablesMatch(t *testing.T) {
	ours := describe(t, testenv.DatabaseURL(t))
	theirsURL := testenv.EmptyDatabase(t)
	betterauth.Migrate(t, theirsURL)
	theirs := describe(t, theirsURL)
	if len(theirs) == 0 {
		t.Fatal("Better Auth created nothing")
	}
	for k, v := range theirs {
		if ours[k] != v {
			t.Errorf("%s:\n  better auth: %s\n  ours:        %s", k, v, ours[k])
		}
	}
	for k, v := range ours {
		if _, ok := theirs[k]; !ok {
			t.Errorf("%s exists only in ours: %s", k, v)
		}
	}
}

func describe(t *testing.T, url string) map[string]string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	out := map[string]string{}
	tables := []string{"user", "session", "account", "verification"}
	rows, err := conn.Query(ctx, `select table_name, column_name, data_type, is_nullable, coalesce(column_default, ''), ordinal_position
		from information_schema.columns where table_schema = 'public' and table_name = any($1)`, tables)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, col, typ, null, def string
		var pos int
		if err := rows.Scan(&tbl, &col, &typ, &null, &def, &pos); err != nil {
			t.Fatal(err)
		}
		out["column "+tbl+"."+col] = fmt.Sprintf("type=%s nullable=%s default=%q position=%d", typ, null, def, pos)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	rows, err = conn.Query(ctx, `select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = any($1)`, tables)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, name, def string
		if err := rows.Scan(&tbl, &name, &def); err != nil {
			t.Fatal(err)
		}
		out["index "+tbl+"."+name] = def
	}
	rows, err = conn.Query(ctx, `select conrelid::regclass::text, conname, pg_get_constraintdef(oid) from pg_constraint
		where connamespace = 'public'::regnamespace and conrelid::regclass::text = any($1)`,
		[]string{`"user"`, "session", "account", "verification"})
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tbl, name, def string
		if err := rows.Scan(&tbl, &name, &def); err != nil {
			t.Fatal(err)
		}
		out["constraint "+tbl+"."+name] = def
	}
	return out
}
