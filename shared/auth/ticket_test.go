package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Tickets against real Redis and Postgres: redeemed once (of two racing
// redemptions exactly one wins), refused when malformed, unknown, or when
// the session it was issued for has ended.
func TestTicketsIssueAndRedeem(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	rdb, keys := testenv.Redis(t)
	tk := auth.Tickets{Redis: rdb, Keys: keys}
	u := testenv.NewUser(t, db, "ticketed")
	var sessionID string
	if err := db.Pool.QueryRow(ctx, `select id from "session" where token = $1`, u.Token).Scan(&sessionID); err != nil {
		t.Fatal(err)
	}
	caller := auth.Caller{ID: u.ID, Name: u.Name, SessionID: sessionID}

	ticket, expires, err := tk.Issue(ctx, caller)
	if err != nil || len(ticket) != auth.TicketLength || time.Until(expires) <= 0 {
		t.Fatalf("issue: %q %v %v", ticket, expires, err)
	}
	var wg sync.WaitGroup
	results := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := tk.Redeem(ctx, db, ticket)
			if err == nil && (got.ID != u.ID || got.SessionID != sessionID) {
				err = errors.New("redeemed as " + got.ID)
			}
			results <- err
		}()
	}
	wg.Wait()
	close(results)
	won := 0
	for err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, auth.ErrBadTicket):
			t.Fatalf("redeem: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d of two racing redemptions won, want 1", won)
	}

	for _, bad := range []string{"", "short", strings.Repeat("!", auth.TicketLength), strings.Repeat("a", auth.TicketLength)} {
		if _, err := tk.Redeem(ctx, db, bad); !errors.Is(err, auth.ErrBadTicket) {
			t.Fatalf("redeem %q: %v, want ErrBadTicket", bad, err)
		}
	}

	stale, _, err := tk.Issue(ctx, caller)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `delete from "session" where id = $1`, sessionID); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Redeem(ctx, db, stale); !errors.Is(err, auth.ErrBadTicket) {
		t.Fatalf("ticket of an ended session: %v, want ErrBadTicket", err)
	}
}
