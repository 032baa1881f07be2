package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/ops"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/store"
)

// opsCommand runs an operator command (`local conversation <id>`, `local
// agents`, `local drain <instance>`, `local grant <userId> <amount> <key>`)
// against the deployment that the environment names, printing JSON to w.
func opsCommand(ctx context.Context, w io.Writer, cmd string, args []string) error {
	want := map[string]int{"conversation": 1, "agents": 0, "drain": 1, "grant": 3}[cmd]
	if len(args) != want {
		return fmt.Errorf("usage: local conversation <conversationId> | local agents | local drain <relayInstanceId> | local grant <userId> <amount> <idempotencyKey>")
	}
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	var out any
	switch cmd {
	case "conversation":
		if !ari.ValidID(args[0]) {
			return fmt.Errorf("%q is not a conversation id", args[0])
		}
		out, err = ops.Conversation(ctx, p.Redis, p.DB, p.Keys, args[0])
	case "agents":
		out, err = ops.Agents(ctx, p.Redis, p.DB, p.Keys)
	case "grant":
		out, err = grant(ctx, p.DB, args)
	case "drain":
		var heard bool
		heard, err = ops.Drain(ctx, p.Redis, p.Keys, args[0])
		out = map[string]any{"instance": args[0], "draining": heard}
		if err == nil && !heard {
			err = fmt.Errorf("no relay instance %q is listening (see `local agents` or the relay's \"relay listening\" log line)", args[0])
		}
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// grant credits a user's coins once per key (the operator's grant; the
// admin route POST /api/admin/coins/grants does the same). A retry with the
// same key prints the first grant.
func grant(ctx context.Context, db *store.DB, args []string) (any, error) {
	amount, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || amount < 1 || amount > 1_000_000_000 {
		return nil, fmt.Errorf("amount %q: want an integer from 1 to 1000000000", args[1])
	}
	if !ari.ValidID(args[0]) {
		return nil, fmt.Errorf("%q is not a user id", args[0])
	}
	t, replay, err := db.GrantCoins(ctx, args[0], amount, args[2])
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("no user %q", args[0])
	case errors.Is(err, store.ErrKeyReused):
		return nil, fmt.Errorf("key %q already names another movement of this user's coins", args[2])
	case err != nil:
		return nil, err
	}
	return map[string]any{"transaction": t, "replay": replay}, nil
}
