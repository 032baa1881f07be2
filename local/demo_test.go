package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

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
}
