package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/jackc/pgx/v5"
)

// vapid prints a fresh VAPID key pair as env lines (make local keeps them in .local/).
func vapid(w io.Writer) error {
	pub, priv, err := notify.GenerateVAPIDKeys()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "VAPID_PUBLIC_KEY=%s\nVAPID_PRIVATE_KEY=%s\n", pub, priv)
	return err
}

// Demo account for `make local`: a user to sign in with and an echo agent.
const (
	demoEmail    = "demo@ari.local"
	demoPassword = "ari-demo-password"
	demoAgentID  = "demo-echo-agent"
)

// demo makes (or reuses) the demo user and its echo agent, gives the agent a
// fresh token (tokens are stored only as hashes), and prints env lines for the
// example agent; lines starting with "# " are shown to the person.
func demo(ctx context.Context, w io.Writer) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{MaxConns: 2})
	if err != nil {
		return err
	}
	defer db.Close()
	alg, err := auth.ParseAlgorithm(cfg.PasswordAlgorithm)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(demoPassword, alg)
	if err != nil {
		return err
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	token := "ari_" + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	userID := auth.GenerateID(32)
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `insert into "user"(id, name, email, "emailVerified") values ($1, 'Demo', $2, true)
			on conflict (email) do update set "updatedAt" = now() returning id`, userID, demoEmail).Scan(&userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into account(id, "accountId", "providerId", "userId", password, "updatedAt")
			select $1, $2, 'credential', $2, $3, now()
			where not exists (select 1 from account where "userId" = $2 and "providerId" = 'credential')`,
			auth.GenerateID(32), userID, hash); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into agents(id, owner_id, name, handle, description, visibility, token_hash, token_hint)
			values ($1, $2, 'Echo', 'echo', 'Streams your message back word by word.', 'public', $3, $4)
			on conflict (id) do update set token_hash = excluded.token_hash, token_hint = excluded.token_hint, updated_at = now()`,
			demoAgentID, userID, sum[:], token[:8])
		return err
	})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "ARI_AGENT_TOKEN=%s\n# Demo sign-in:       %s / %s\n# Demo agent id:      %s (the echo agent is connected)\n",
		token, demoEmail, demoPassword, demoAgentID)
	return err
}
