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
	_, err := db.Pool.Exec(ctx, `insert into "user"(id,name,email,"emailVerified") values ('u-coins','C','c@example.com',false)`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `insert into coin_transactions(user_id,amount,reason) values ('u-coins',100,'grant')`); err != nil {
		t.Fatal(err)
	}
	_, err = db.Pool.Exec(ctx, `insert into coin_transactions(user_id,amount,reason) values ('u-coins',-101,'purchase')`)
	if !store.IsCheckViolation(err) {
		t.Fatalf("overdraft: want check violation, got %v", err)
	}
	var bal int64
	var n int
	if err := db.Pool.QueryRow(ctx, `select balance from coin_balances where user_id='u-coins'`).Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `select count(*) from coin_transactions where user_id='u-coins'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if bal != 100 || n != 1 {
		t.Fatalf("balance %d after %d transactions; the failed debit must change nothing", bal, n)
	}
	var after int64
	if err := db.Pool.QueryRow(ctx, `insert into coin_transactions(user_id,amount,reason) values ('u-coins',-100,'purchase') returning balance_after`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != 0 {
		t.Fatalf("balance_after = %d, want 0", after)
	}
}
