package store_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/jackc/pgx/v5"
)

// upgradeSeed is data a database may hold at a version, written with plain
// SQL of that version's schema (never with today's store code).
var upgradeSeed = []struct {
	since int64 // the first version whose schema has these tables
	sql   string
}{
	{1, `insert into "user" (id, name, email, "emailVerified") values
		('u1', 'Ada', 'ada@example.com', true), ('u2', 'Bo', 'bo@example.com', false);
	insert into session (id, "expiresAt", token, "updatedAt", "userId") values
		('s1', now() + interval '7 days', 'tok-ada', now(), 'u1');
	insert into account (id, "accountId", "providerId", "userId", password, "updatedAt") values
		('a1', 'u1', 'credential', 'u1', 'salt:hash', now())`},
	{2, `insert into agents (id, owner_id, name, handle, token_hash, a2a_endpoint) values
		('ag1', 'u1', 'Helper', 'helper', '\x0102', 'http://127.0.0.1:1/a2a');
	insert into conversations (id, kind, title, created_by, last_seq, last_message_at) values
		('c1', 'direct', 'upgrade talk', 'u1', 3, now());
	insert into conversation_members (conversation_id, user_id, role) values ('c1', 'u1', 'owner'), ('c1', 'u2', 'member');
	insert into conversation_members (conversation_id, agent_id) values ('c1', 'ag1');
	insert into messages (id, conversation_id, seq, role, sender_user_id, content, client_message_id) values
		('m1', 'c1', 1, 'user', 'u1', 'hello migrated world', 'cm-1'),
		('m2', 'c1', 2, 'user', 'u2', 'zebras survive upgrades', null);
	insert into messages (id, conversation_id, seq, role, sender_agent_id, content, status, reply_to_id) values
		('m3', 'c1', 3, 'agent', 'ag1', 'half a rep', 'streaming', 'm1');
	insert into message_reactions (message_id, user_id, emoji) values ('m1', 'u2', '👍');
	insert into conversation_reads (conversation_id, user_id, last_read_seq) values ('c1', 'u2', 2);
	insert into attachments (id, owner_id, message_id, storage_key, original_name, content_type, size, status, attached_at) values
		('f1', 'u1', 'm1', 'u/u1/f1.png', 'a.png', 'image/png', 10, 'ready', now())`},
}

// upgradeChecks read what the seed wrote; each must read the same before
// and after the upgrade.
var upgradeChecks = []struct {
	since int64
	sql   string
}{
	{1, `select string_agg(id || ' ' || name || ' ' || email || ' ' || "emailVerified", '; ' order by id) from "user"`},
	{1, `select string_agg(token || ' ' || "userId", '; ') from session`},
	{1, `select string_agg("providerId" || ' ' || password, '; ') from account`},
	{2, `select string_agg(id || ' ' || handle || ' ' || a2a_endpoint || ' ' || encode(token_hash, 'hex'), '; ') from agents`},
	{2, `select string_agg(id || ' ' || kind || ' ' || title || ' ' || last_seq, '; ') from conversations`},
	{2, `select string_agg(coalesce(user_id, agent_id) || ' ' || role, '; ' order by coalesce(user_id, agent_id)) from conversation_members`},
	{2, `select string_agg(id || ' ' || seq || ' ' || role || ' ' || content || ' ' || status || ' ' || coalesce(client_message_id, '-') || ' ' || coalesce(reply_to_id, '-'), '; ' order by seq) from messages`},
	{2, `select string_agg(message_id || ' ' || user_id || ' ' || emoji, '; ') from message_reactions`},
	{2, `select string_agg(user_id || ' ' || last_read_seq, '; ') from conversation_reads`},
	{2, `select string_agg(id || ' ' || message_id || ' ' || storage_key || ' ' || status, '; ') from attachments`},
}

// TestUpgradeFromEveryVersion migrates a database from each earlier version
// (applied 1..k, rows written as that version's schema allows) to the
// latest: every row survives unchanged, new columns hold their defaults, and
// today's store reads the old rows.
func TestUpgradeFromEveryVersion(t *testing.T) {
	versions, err := store.MigrationVersions()
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) < 2 {
		t.Fatalf("migrations %v", versions)
	}
	ctx := context.Background()
	for _, from := range versions[:len(versions)-1] {
		t.Run("from "+strconv.FormatInt(from, 10), func(t *testing.T) {
			url := testenv.EmptyDatabase(t)
			if applied, err := store.MigrateTo(ctx, url, from); err != nil || applied[len(applied)-1] != from {
				t.Fatalf("migrate to %d: %v %v", from, applied, err)
			}
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			for _, s := range upgradeSeed {
				if s.since <= from {
					if _, err := conn.Exec(ctx, s.sql); err != nil {
						t.Fatalf("seed for version %d: %v", s.since, err)
					}
				}
			}
			read := func() []string {
				var out []string
				for _, c := range upgradeChecks {
					if c.since > from {
						continue
					}
					var v *string
					if err := conn.QueryRow(ctx, c.sql).Scan(&v); err != nil {
						t.Fatalf("%s: %v", c.sql, err)
					}
					if v == nil {
						t.Fatalf("%s: the seed wrote nothing", c.sql)
					}
					out = append(out, *v)
				}
				return out
			}
			before := read()

			applied, err := store.Migrate(ctx, url)
			if err != nil {
				t.Fatalf("upgrade from %d: %v", from, err)
			}
			if want := versions[slices.Index(versions, from)+1:]; !slices.Equal(applied, want) {
				t.Fatalf("upgrade from %d applied %v, want %v", from, applied, want)
			}
			after := read()
			for i := range before {
				if before[i] != after[i] {
					t.Fatalf("changed by the upgrade:\n before %s\n after  %s", before[i], after[i])
				}
			}
			if from < 2 {
				return
			}
			var policy string
			var deployment *string
			if err := conn.QueryRow(ctx, `select turn_policy from conversations where id = 'c1'`).Scan(&policy); err != nil || policy != "queue" {
				t.Fatalf("turn_policy of an old conversation: %q %v, want queue", policy, err)
			}
			if err := conn.QueryRow(ctx, `select relay_deployment from messages where id = 'm3'`).Scan(&deployment); err != nil || deployment != nil {
				t.Fatalf("relay_deployment of an old reply: %v %v, want NULL (every deployment's sweeper)", deployment, err)
			}
			db, err := store.Open(ctx, url, store.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			page, err := db.MessagesPage(ctx, "u2", "c1", store.PageQuery{Mode: store.PageNewest, Limit: 10})
			if err != nil || len(page.Items) != 3 || page.Items[0].Seq != 1 || len(page.Items[0].Attachments) != 1 {
				t.Fatalf("old messages through today's store: %+v %v", page, err)
			}
			hits, _, err := db.SearchMessages(ctx, "u2", store.SearchQuery{Text: "zebras", Limit: 5})
			if err != nil || len(hits) != 1 || hits[0].Message.ID != "m2" {
				t.Fatalf("search over old messages: %+v %v", hits, err)
			}
			open, err := db.ConversationOpenReplies(ctx, "c1")
			if err != nil || len(open) != 1 {
				t.Fatalf("the old streaming reply is not found open: %+v %v", open, err)
			}
		})
	}
}
