package store_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Unreachable tells a server that refused a statement from one that could not
// be reached: only the second is worth retrying.
func TestUnreachable(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	_, refused := db.Pool.Exec(ctx, `select 'a' || $1::text`, "b\x00")
	if refused == nil || store.Unreachable(refused) {
		t.Fatalf("a NUL in text: err %v, Unreachable %v; want a refusal", refused, store.Unreachable(refused))
	}
	_, refused = db.Pool.Exec(ctx, `do $$ begin raise exception 'no'; end $$`)
	if refused == nil || store.Unreachable(refused) {
		t.Fatalf("raise exception: err %v, want a refusal", refused)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = pgx.Connect(cctx, "postgres://postgres@"+addr+"/postgres?sslmode=disable")
	if err == nil || !store.Unreachable(err) {
		t.Fatalf("connect to a closed port: err %v, want unreachable", err)
	}
	if store.Unreachable(nil) {
		t.Fatal("nil is not unreachable")
	}
}
