package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// publishedApp makes a published app of dev's at price.
func publishedApp(t *testing.T, db *store.DB, dev string, price int64) string {
	t.Helper()
	ctx := context.Background()
	a, err := db.CreateApp(ctx, dev, store.NewApp{Slug: "app-" + strings.ToLower(testenv.RandomID(10)), Name: "App", PriceCoins: price, Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.PublishVersion(ctx, dev, a.ID, "1", []byte(`{"entryUrl":"https://apps.example/"}`)); err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func ledgerSum(t *testing.T, db *store.DB, user string) (balance, sum int64, rows int) {
	t.Helper()
	if err := db.Pool.QueryRow(context.Background(), `select coalesce((select balance from coin_balances where user_id = $1), 0),
		coalesce((select sum(amount) from coin_transactions where user_id = $1), 0),
		(select count(*) from coin_transactions where user_id = $1)`, user).Scan(&balance, &sum, &rows); err != nil {
		t.Fatal(err)
	}
	return
}

// TestConcurrentPurchases: 100 purchases of different apps race against one
// balance, each sent twice at once with the same key. Exactly
// floor(balance/price) succeed, every other one is refused for want of
// coins, each key charges once, both ledgers sum to their balances, and
// every retry afterwards returns the first purchase without a charge.
func TestConcurrentPurchases(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	dev := testenv.NewUser(t, db, "dev").ID
	buyer := testenv.NewUser(t, db, "buyer").ID
	if _, err := db.OpenDeveloperAccount(ctx, dev, "Dev", nil); err != nil {
		t.Fatal(err)
	}
	const n, price, balance = 100, 30, 1000
	apps := make([]string, n)
	for i := range apps {
		apps[i] = publishedApp(t, db, dev, price)
	}
	if _, _, err := db.GrantCoins(ctx, buyer, balance, "start"); err != nil {
		t.Fatal(err)
	}
	type result struct {
		key    string
		replay bool
		err    error
	}
	results := make(chan result, 2*n)
	var wg sync.WaitGroup
	for i, app := range apps {
		key := fmt.Sprintf("buy-%d", i)
		for range 2 {
			wg.Go(func() {
				_, replay, err := db.InstallApp(ctx, buyer, app, key)
				results <- result{key, replay, err}
			})
		}
	}
	wg.Wait()
	close(results)
	bought := map[string]int{}
	var refused, replays int
	for r := range results {
		switch {
		case r.err == nil && r.replay:
			replays++
		case r.err == nil:
			bought[r.key]++
		case errors.Is(r.err, store.ErrInsufficientCoins):
			refused++
		default:
			t.Fatalf("%s: %v", r.key, r.err)
		}
	}
	want := balance / price
	if len(bought) != want {
		t.Fatalf("%d purchases succeeded, want floor(%d/%d) = %d", len(bought), balance, price, want)
	}
	for k, c := range bought {
		if c != 1 {
			t.Fatalf("key %s made %d purchases", k, c)
		}
	}
	bal, sum, rows := ledgerSum(t, db, buyer)
	if bal != balance-int64(want)*price || sum != bal || rows != want+1 {
		t.Fatalf("buyer: balance %d, ledger sum %d over %d rows; want %d, %d rows", bal, sum, rows, balance-want*price, want+1)
	}
	devBal, devSum, _ := ledgerSum(t, db, dev)
	if devBal != int64(want)*price || devSum != devBal {
		t.Fatalf("developer: balance %d, ledger sum %d, want %d", devBal, devSum, want*price)
	}
	t.Logf("%d bought, %d refused for coins, %d concurrent retries answered with the first purchase", len(bought), refused, replays)

	// Retries with the same keys, later: the first purchase, no charge.
	for k := range bought {
		var i int
		fmt.Sscanf(k, "buy-%d", &i)
		p, replay, err := db.InstallApp(ctx, buyer, apps[i], k)
		if err != nil || !replay || p.AppID != apps[i] || p.PriceCoins != price || p.TransactionID == nil {
			t.Fatalf("retry %s: %+v replay %v err %v", k, p, replay, err)
		}
	}
	if bal2, _, rows2 := ledgerSum(t, db, buyer); bal2 != bal || rows2 != rows {
		t.Fatalf("retries moved coins: balance %d → %d, rows %d → %d", bal, bal2, rows, rows2)
	}
}

func TestInstallRules(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	dev := testenv.NewUser(t, db, "dev").ID
	buyer := testenv.NewUser(t, db, "buyer").ID
	if _, err := db.OpenDeveloperAccount(ctx, dev, "Dev", nil); err != nil {
		t.Fatal(err)
	}
	free := publishedApp(t, db, dev, 0)
	paid := publishedApp(t, db, dev, 5)
	other := publishedApp(t, db, dev, 5)

	// Free: no ledger entry.
	p, replay, err := db.InstallApp(ctx, buyer, free, "k-free")
	if err != nil || replay || p.TransactionID != nil || p.PriceCoins != 0 {
		t.Fatalf("free install: %+v %v %v", p, replay, err)
	}
	if _, _, rows := ledgerSum(t, db, buyer); rows != 0 {
		t.Fatalf("a free install wrote %d ledger rows", rows)
	}
	// Bought once: another key is refused, the same key replays.
	if _, _, err := db.InstallApp(ctx, buyer, free, "k-free-2"); !errors.Is(err, store.ErrAlreadyInstalled) {
		t.Fatalf("second install: %v", err)
	}
	if _, replay, err := db.InstallApp(ctx, buyer, free, "k-free"); err != nil || !replay {
		t.Fatalf("replay: %v %v", replay, err)
	}
	// No coins: refused, nothing written.
	if _, _, err := db.InstallApp(ctx, buyer, paid, "k-paid"); !errors.Is(err, store.ErrInsufficientCoins) {
		t.Fatalf("paid without coins: %v", err)
	}
	if _, err := db.AppFor(ctx, buyer, paid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.GrantCoins(ctx, buyer, 5, "g1"); err != nil {
		t.Fatal(err)
	}
	// A key names one movement: the grant's key cannot buy, the free
	// install's key cannot buy another app.
	if _, _, err := db.InstallApp(ctx, buyer, paid, "g1"); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("grant key reused for a purchase: %v", err)
	}
	if _, _, err := db.InstallApp(ctx, buyer, paid, "k-free"); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("install key reused for another app: %v", err)
	}
	if _, _, err := db.GrantCoins(ctx, buyer, 6, "g1"); !errors.Is(err, store.ErrKeyReused) {
		t.Fatalf("grant key reused with another amount: %v", err)
	}
	if _, replay, err := db.GrantCoins(ctx, buyer, 5, "g1"); err != nil || !replay {
		t.Fatalf("grant replay: %v %v", replay, err)
	}
	if _, _, err := db.InstallApp(ctx, buyer, paid, "k-paid"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.InstallApp(ctx, buyer, other, "k-other"); !errors.Is(err, store.ErrInsufficientCoins) {
		t.Fatalf("second paid app with 0 coins: %v", err)
	}
	// The developer installs their own paid app for nothing.
	if p, _, err := db.InstallApp(ctx, dev, other, "own"); err != nil || p.PriceCoins != 0 || p.TransactionID != nil {
		t.Fatalf("own install: %+v %v", p, err)
	}
	// Unknown users and apps.
	if _, _, err := db.GrantCoins(ctx, "no-such-user", 5, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("grant to nobody: %v", err)
	}
	if _, _, err := db.InstallApp(ctx, buyer, "no-such-app", "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown app: %v", err)
	}
	// Unpublished: no new installs; installed ones stay visible.
	if _, err := db.SetAppListed(ctx, dev, paid, false); err != nil {
		t.Fatal(err)
	}
	stranger := testenv.NewUser(t, db, "stranger").ID
	if _, _, err := db.InstallApp(ctx, stranger, paid, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("install of an unpublished app: %v", err)
	}
	if _, err := db.AppFor(ctx, stranger, paid); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger sees an unpublished app: %v", err)
	}
	if d, err := db.AppFor(ctx, buyer, paid); err != nil || !d.Installed {
		t.Fatalf("buyer's view of an unpublished app: %+v %v", d, err)
	}
	// Versions never change.
	if _, err := db.Pool.Exec(ctx, `update app_versions set manifest = '{}' where app_id = $1`, paid); !store.IsCheckViolation(err) {
		t.Fatalf("updating a version: %v", err)
	}
}
