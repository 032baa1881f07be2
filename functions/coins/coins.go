// Package coins serves /api/coins: the caller's coin balance and ledger (an
// append-only list of movements, each made once per idempotency key), and the
// operator's grants. Coins are spent by installing apps (functions/apps);
// no payment provider is part of the server.
package coins

import (
	"errors"
	"net/http"
	"regexp"
	"slices"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Deps are what the coins function needs. Admins are the user ids that may
// grant coins (ADMIN_USER_IDS).
type Deps struct {
	DB     *store.DB
	Auth   *auth.Authenticator
	Admins []string
}

type handler struct{ Deps }

// New returns the coins router with every route behind sign-in.
func New(d Deps) *httpx.Router {
	h := handler{d}
	r := httpx.NewRouter()
	authed := r.With(d.Auth.Require)
	authed.HandleFunc("GET /api/coins/balance", h.balance)
	authed.HandleFunc("GET /api/coins/transactions", h.transactions)
	authed.HandleFunc("POST /api/admin/coins/grants", h.grant)
	return r
}

// MaxGrant bounds one grant.
const MaxGrant = 1_000_000_000

// keyRe is an idempotency key: 1–100 printable ASCII characters, no spaces.
var keyRe = regexp.MustCompile(`^[\x21-\x7e]{1,100}$`)

// BalanceResponse answers GET /api/coins/balance.
type BalanceResponse struct {
	BalanceCoins int64 `json:"balanceCoins"`
}

// GrantRequest is the body of POST /api/admin/coins/grants.
type GrantRequest struct {
	UserID         string `json:"userId"`
	Amount         int64  `json:"amount"`
	IdempotencyKey string `json:"idempotencyKey"`
}

// Validate checks every field at once.
func (q *GrantRequest) Validate() map[string]string {
	bad := map[string]string{}
	if !ari.ValidID(q.UserID) {
		bad["userId"] = "is not a user id"
	}
	if q.Amount < 1 || q.Amount > MaxGrant {
		bad["amount"] = "must be an integer from 1 to 1000000000"
	}
	if !keyRe.MatchString(q.IdempotencyKey) {
		bad["idempotencyKey"] = "must be 1-100 printable ASCII characters without spaces"
	}
	return bad
}

func (h handler) balance(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	b, err := h.DB.CoinBalance(r.Context(), caller.ID)
	if err != nil {
		return err
	}
	return httpx.JSON(w, http.StatusOK, BalanceResponse{BalanceCoins: b})
}

func (h handler) transactions(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	limit, after, err := httpx.PageRequest[store.LedgerCursor](r, 50, 200)
	if err != nil {
		return err
	}
	list, err := h.DB.CoinLedger(r.Context(), caller.ID, after, limit+1)
	if err != nil {
		return err
	}
	more := len(list) > limit
	if more {
		list = list[:limit]
	}
	page := httpx.NewPage(list)
	if more {
		last := list[len(list)-1]
		page.NextCursor = httpx.CursorPtr(store.LedgerCursor{CreatedAt: last.CreatedAt.Time, ID: last.ID})
	}
	return httpx.JSON(w, http.StatusOK, page)
}

// grant credits a user; only the configured operators may. A retry with the
// same key answers 200 with the first grant.
func (h handler) grant(w http.ResponseWriter, r *http.Request) error {
	caller, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	if !slices.Contains(h.Admins, caller.ID) {
		return ari.Errorf(ari.CodeForbidden, "only operators may grant coins (ADMIN_USER_IDS)")
	}
	var req GrantRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	t, replay, err := h.DB.GrantCoins(r.Context(), req.UserID, req.Amount, req.IdempotencyKey)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ari.NotFound("user")
	case errors.Is(err, store.ErrKeyReused):
		return &ari.Error{Code: ari.CodeConflict, Message: "idempotencyKey: already used for another movement of this user's coins",
			Fields: map[string]string{"idempotencyKey": "already used for something else"}}
	case err != nil:
		return err
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
	}
	return httpx.JSON(w, status, t)
}
