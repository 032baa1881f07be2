package coins

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

type page struct {
	Items      []ari.CoinTransaction `json:"items"`
	NextCursor *string               `json:"nextCursor"`
}

// TestGrantsAndLedger: only configured operators grant; a retry with the
// key grants once; each user sees only their own balance and ledger.
func TestGrantsAndLedger(t *testing.T) {
	e := apitest.New(t)
	admin := testenv.NewUser(t, e.DB, "admin")
	user := testenv.NewUser(t, e.DB, "user")
	other := testenv.NewUser(t, e.DB, "other")
	e.Serve(t, New(Deps{DB: e.DB, Auth: e.Auth, Admins: []string{admin.ID}}))

	for _, r := range [][2]string{{"GET", "/api/coins/balance"}, {"GET", "/api/coins/transactions"}, {"POST", "/api/admin/coins/grants"}} {
		e.Must(t, 401, "", r[0], r[1], nil)
	}
	grant := map[string]any{"userId": user.ID, "amount": 300, "idempotencyKey": "welcome"}
	e.Must(t, 403, user.Token, "POST", "/api/admin/coins/grants", grant)
	e.Must(t, 403, other.Token, "POST", "/api/admin/coins/grants", grant)
	first := apitest.Decode[ari.CoinTransaction](t, e.Must(t, 201, admin.Token, "POST", "/api/admin/coins/grants", grant))
	again := apitest.Decode[ari.CoinTransaction](t, e.Must(t, 200, admin.Token, "POST", "/api/admin/coins/grants", grant))
	if first.ID != again.ID || first.BalanceAfter != 300 || first.Reason != "grant" {
		t.Fatalf("grant %+v, retry %+v", first, again)
	}
	e.Must(t, 409, admin.Token, "POST", "/api/admin/coins/grants", map[string]any{"userId": user.ID, "amount": 5, "idempotencyKey": "welcome"})
	e.Must(t, 404, admin.Token, "POST", "/api/admin/coins/grants", map[string]any{"userId": "nobody", "amount": 5, "idempotencyKey": "k"})
	for _, body := range []map[string]any{
		{"userId": user.ID, "amount": 0, "idempotencyKey": "k"},
		{"userId": user.ID, "amount": -5, "idempotencyKey": "k"},
		{"userId": user.ID, "amount": 5, "idempotencyKey": ""},
		{"userId": "a b", "amount": 5, "idempotencyKey": "k"},
	} {
		e.Must(t, 400, admin.Token, "POST", "/api/admin/coins/grants", body)
	}
	e.Must(t, 201, admin.Token, "POST", "/api/admin/coins/grants", map[string]any{"userId": user.ID, "amount": 5, "idempotencyKey": "second"})

	bal := apitest.Decode[BalanceResponse](t, e.Must(t, 200, user.Token, "GET", "/api/coins/balance", nil))
	if bal.BalanceCoins != 305 {
		t.Fatalf("balance %d", bal.BalanceCoins)
	}
	if b := apitest.Decode[BalanceResponse](t, e.Must(t, 200, other.Token, "GET", "/api/coins/balance", nil)); b.BalanceCoins != 0 {
		t.Fatalf("other's balance %d", b.BalanceCoins)
	}
	p := apitest.Decode[page](t, e.Must(t, 200, user.Token, "GET", "/api/coins/transactions?limit=1", nil))
	if len(p.Items) != 1 || p.Items[0].Amount != 5 || p.NextCursor == nil {
		t.Fatalf("page 1 %+v", p)
	}
	p = apitest.Decode[page](t, e.Must(t, 200, user.Token, "GET", "/api/coins/transactions?limit=1&cursor="+*p.NextCursor, nil))
	if len(p.Items) != 1 || p.Items[0].Amount != 300 || p.NextCursor != nil {
		t.Fatalf("page 2 %+v", p)
	}
	if p := apitest.Decode[page](t, e.Must(t, 200, other.Token, "GET", "/api/coins/transactions", nil)); len(p.Items) != 0 {
		t.Fatalf("other sees %d movements", len(p.Items))
	}
}

// TestNoAdminsConfigured: an empty ADMIN_USER_IDS lets nobody grant.
func TestNoAdminsConfigured(t *testing.T) {
	e := apitest.New(t)
	u := testenv.NewUser(t, e.DB, "u")
	e.Serve(t, New(Deps{DB: e.DB, Auth: e.Auth}))
	e.Must(t, 403, u.Token, "POST", "/api/admin/coins/grants", map[string]any{"userId": u.ID, "amount": 5, "idempotencyKey": "k"})
}
