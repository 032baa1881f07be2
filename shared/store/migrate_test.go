package store_test

import (
	"context"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestMigrateIsIdempotent(t *testing.T) {
	u := testenv.DatabaseURL(t)
	applied, err := store.Migrate(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Fatalf("second migrate applied %v", applied)
	}
}

func TestCoinBalanceNeverNegative(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	// A fresh user each run (the package database outlives one -count).
	user := testenv.NewUser(t, db, "coins").ID
	if _, err := db.Pool.Exec(ctx, `insert into coin_transactions(user_id,amount,reason) values ($1,100,'grant')`, user); err != nil {
		t.Fatal(err)
	}
	_, err := db.Pool.Exec(ctx, `insert into coin_transactions(user_id,amount,reason) values ($1,-101,'purchase')`, user)
	if !store.IsCheckViolation(err) {
		t.Fatalf("overdraft: want check violation, got %v", err)
	}
	var bal int64
	var n int
	if err := db.Pool.QueryRow(ctx, `select balance from coin_balances where user_id=$1`, user).Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `select count(*) from coin_transactions where user_id=$1`, user).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if bal != 100 || n != 1 {
		t.Fatalf("balance %d after %d transactions; the failed debit must change nothing", bal, n)
	}
	var after int64
	if err := db.Pool.QueryRow(ctx, `insert into coin_transactions(user_id,amount,reason) values ($1,-100,'purchase') returning balance_after`, user).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != 0 {
		t.Fatalf("balance_after = %d, want 0", after)
	}
}
