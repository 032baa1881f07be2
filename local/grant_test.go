package main

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// TestGrantCommand: `local grant` credits once per key and refuses bad input.
func TestGrantCommand(t *testing.T) {
	p := testPlatform(t)
	u := testenv.NewUser(t, p.DB, "granted")
	for i, want := range []bool{false, true} {
		out, err := grant(t.Context(), p.DB, []string{u.ID, "250", "ops-1"})
		if err != nil {
			t.Fatal(err)
		}
		m := out.(map[string]any)
		if m["replay"] != want || m["transaction"].(ari.CoinTransaction).BalanceAfter != 250 {
			t.Fatalf("run %d: %+v", i, m)
		}
	}
	for _, args := range [][]string{{u.ID, "0", "k"}, {u.ID, "x", "k"}, {"no such user", "5", "k"}, {"nobody", "5", "k"}, {u.ID, "5", "ops-1"}} {
		if _, err := grant(t.Context(), p.DB, args); err == nil {
			t.Fatalf("%v: accepted", args)
		}
	}
	if b, err := p.DB.CoinBalance(t.Context(), u.ID); err != nil || b != 250 {
		t.Fatalf("balance %d %v", b, err)
	}
}
