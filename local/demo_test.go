package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// `ari-local demo` (run by make local) seeds the demo user, Echo and Parrot
// with fresh tokens, and the group they share, where agents address agents;
// running it again keeps the rows and renews the tokens.
func TestDemoSeedsTwoAgentsAndTheirGroup(t *testing.T) {
	t.Setenv("ARI_ENV", "test")
	t.Setenv("DATABASE_URL", testenv.DatabaseURL(t))
	db := testenv.DB(t)
	ctx := context.Background()
	tokens := map[string]bool{}
	for range 2 {
		var out bytes.Buffer
		if err := demo(ctx, &out); err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(out.String(), "\n") {
			for _, name := range []string{"ARI_AGENT_TOKEN=", "PARROT_AGENT_TOKEN="} {
				if tok, ok := strings.CutPrefix(line, name); ok && strings.HasPrefix(tok, "ari_") {
					tokens[tok] = true
				}
			}
		}
		if !strings.Contains(out.String(), "/rally") {
			t.Fatalf("demo output does not say how to start a rally:\n%s", out.String())
		}
		if !strings.Contains(out.String(), "# Demo app:           notes") {
			t.Fatalf("demo output does not name the notes app:\n%s", out.String())
		}
	}
	if len(tokens) != 4 {
		t.Fatalf("%d distinct tokens over two runs, want 4 (two agents, renewed)", len(tokens))
	}
	var kind string
	var users, agents int
	if err := db.Pool.QueryRow(ctx, `select c.kind, count(cm.user_id), count(cm.agent_id) from conversations c
		join conversation_members cm on cm.conversation_id = c.id where c.id = $1 group by c.kind`, demoGroupID).Scan(&kind, &users, &agents); err != nil {
		t.Fatal(err)
	}
	if kind != "group" || users != 1 || agents != 2 {
		t.Fatalf("demo group: %s with %d users and %d agents", kind, users, agents)
	}
	var handles string
	if err := db.Pool.QueryRow(ctx, `select string_agg(handle, ',' order by handle) from agents where id in ($1, $2)`,
		demoAgentID, demoParrotID).Scan(&handles); err != nil || handles != "echo,parrot" {
		t.Fatalf("demo agents: %q (%v)", handles, err)
	}

	// The sample notes app: published once by the demo user's developer
	// account (the same manifest is not published again), installed for
	// the demo user once, free (no coins moved: the balance is the grant).
	var versions, installs int
	var entryURL, userID string
	var balance int64
	if err := db.Pool.QueryRow(ctx, `select u.id, count(distinct v.id), count(distinct p.id), min(v.manifest->>'entryUrl'),
			(select balance from coin_balances b where b.user_id = u.id)
		from "user" u join developer_accounts d on d.user_id = u.id join apps a on a.developer_id = d.id and a.slug = 'notes'
		join app_versions v on v.app_id = a.id and v.published_at is not null
		left join app_purchases p on p.app_id = a.id and p.user_id = u.id
		where u.email = $1 group by u.id`, demoEmail).Scan(&userID, &versions, &installs, &entryURL, &balance); err != nil {
		t.Fatalf("demo notes app: %v", err)
	}
	if versions != 1 || installs != 1 || entryURL != "http://127.0.0.1:3501/apps/notes/" || balance != demoCoins {
		t.Fatalf("demo notes app: %d versions, %d installs, entryUrl %q, balance %d", versions, installs, entryURL, balance)
	}
	// A newcomer can open it with Echo in shared mode (what the web app does).
	apps, err := db.Catalogue(ctx, "notes", nil, 10)
	if err != nil || len(apps) == 0 {
		t.Fatalf("catalogue: %v %v", apps, err)
	}
	if _, _, err := db.OpenAppSession(ctx, userID, demoGroupID, store.NewAppSession{AppID: apps[0].ID, Mode: "shared", AgentID: &[]string{demoAgentID}[0]}); err != nil {
		t.Fatalf("open the notes app with Echo: %v", err)
	}
}
