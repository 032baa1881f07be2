package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/ari-chat/ari-server/shared/appbridge"
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

// Demo account for `make local`: a user to sign in with, an echo agent, a
// second echo agent (Parrot) and a group with both, where agents address
// agents (relay/PROTOCOL.md section 13).
const (
	demoEmail    = "demo@ari.local"
	demoPassword = "ari-demo-password"
	demoAgentID  = "demo-echo-agent"
	demoParrotID = "demo-parrot-agent"
	demoGroupID  = "demo-agents-group"
	demoCoins    = 500
	// The sample notes app (local/echoagent/notes.manifest.json), published
	// by the demo user's developer account and installed for it.
	demoAppSlug = "notes"
)

//go:embed echoagent/notes.manifest.json
var notesManifest []byte

// demo makes (or reuses) the demo user, its two echo agents and the group
// they share with the user, gives each agent a fresh token (tokens are
// stored only as hashes), and prints env lines for the example agents
// (ARI_AGENT_TOKEN for Echo, PARROT_AGENT_TOKEN for Parrot); lines starting
// with "# " are shown to the person.
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
	token, sum, err := demoToken()
	if err != nil {
		return err
	}
	parrot, parrotSum, err := demoToken()
	if err != nil {
		return err
	}
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
		for _, a := range []struct {
			id, name, handle, about string
			sum                     []byte
			token                   string
		}{
			{demoAgentID, "Echo", "echo", "Streams your message back word by word.", sum, token},
			{demoParrotID, "Parrot", "parrot", "The echo agent again, so agents can address agents: try /rally @echo.", parrotSum, parrot},
		} {
			if _, err := tx.Exec(ctx, `insert into agents(id, owner_id, name, handle, description, visibility, token_hash, token_hint)
				values ($1, $2, $3, $4, $5, 'public', $6, $7)
				on conflict (id) do update set token_hash = excluded.token_hash, token_hint = excluded.token_hint, updated_at = now()`,
				a.id, userID, a.name, a.handle, a.about, a.sum, a.token[:8]); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `insert into conversations(id, kind, title, created_by) values ($1, 'group', 'Echo & Parrot', $2)
			on conflict (id) do nothing`, demoGroupID, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `insert into conversation_members(conversation_id, user_id, role) values ($1, $2, 'owner')
			on conflict do nothing`, demoGroupID, userID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `insert into conversation_members(conversation_id, agent_id)
			select $1, unnest($2::text[]) on conflict do nothing`, demoGroupID, []string{demoAgentID, demoParrotID})
		return err
	})
	if err != nil {
		return err
	}
	// Coins to try a purchase with: granted once (the key makes a rerun a
	// no-op), as an operator would.
	if _, _, err := db.GrantCoins(ctx, userID, demoCoins, "demo-welcome"); err != nil {
		return err
	}
	if err := demoNotesApp(ctx, db, userID); err != nil {
		return fmt.Errorf("demo notes app: %w", err)
	}
	_, err = fmt.Fprintf(w, "ARI_AGENT_TOKEN=%s\nPARROT_AGENT_TOKEN=%s\n# Demo sign-in:       %s / %s\n"+
		"# Demo agents:        %s and %s (both connected; each runs local/echoagent)\n"+
		"# Demo group:         %s, \"Echo & Parrot\": write \"@echo /rally @parrot\" to watch two agents address each other until the chain budget stops them\n"+
		"# Demo coins:         %d (more: .local/bin/ari-local grant %s <amount> <key>)\n"+
		"# Demo app:           %s (installed, free): open it in a conversation with Echo in shared mode, then write \"/note <text>\"\n",
		token, parrot, demoEmail, demoPassword, demoAgentID, demoParrotID, demoGroupID, demoCoins, userID, demoAppSlug)
	return err
}

// demoNotesApp makes the demo user a developer (once), creates the app
// "notes" (free, public), publishes the sample manifest as a version named
// after its content (so an edited manifest is published again and an
// unchanged one is not), and installs the app for the demo user (free: no
// coins move). Every step is a no-op when already done.
func demoNotesApp(ctx context.Context, db *store.DB, userID string) error {
	m, err := appbridge.ValidateManifest(notesManifest)
	if err != nil {
		return err
	}
	if _, err := db.OpenDeveloperAccount(ctx, userID, "Ari Demo", nil); err != nil && !errors.Is(err, store.ErrDeveloperExists) {
		return err
	}
	var appID string
	a, err := db.CreateApp(ctx, userID, store.NewApp{Slug: demoAppSlug, Name: "Notes",
		Description: "A shared board of notes; the echo agent pins one with /note <text>.", Visibility: "public"})
	switch {
	case errors.Is(err, store.ErrSlugTaken):
		// Made by an earlier run: find it among the demo developer's apps.
		if err := db.Pool.QueryRow(ctx, `select a.id from apps a join developer_accounts d on d.id = a.developer_id
			where d.user_id = $1 and a.slug = $2`, userID, demoAppSlug).Scan(&appID); err != nil {
			return fmt.Errorf("the slug %q belongs to another developer: %w", demoAppSlug, err)
		}
	case err != nil:
		return err
	default:
		appID = a.ID
	}
	sum := sha256.Sum256(m.Canonical)
	if _, err := db.PublishVersion(ctx, userID, appID, "1.0.0+"+hex.EncodeToString(sum[:4]), m.Canonical); err != nil &&
		!errors.Is(err, store.ErrVersionExists) {
		return err
	}
	if _, _, err := db.InstallApp(ctx, userID, appID, "demo-notes"); err != nil && !errors.Is(err, store.ErrAlreadyInstalled) {
		return err
	}
	return nil
}

// demoToken makes an agent token and the hash that is stored of it.
func demoToken() (string, []byte, error) {
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, err
	}
	token := "ari_" + hex.EncodeToString(raw[:])
	sum := sha256.Sum256([]byte(token))
	return token, sum[:], nil
}
