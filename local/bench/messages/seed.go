package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// shape is the seeded data set. Conversation size and the number of
// conversations each user is in stay the same at every size, so a user sees
// about the same history at 10k and at 1M messages: what grows is the table
// (and every index) around them, which is what the benchmark is about.
type shape struct {
	Messages      int
	PerConv       int // messages per conversation
	Conversations int
	Users         int // each conversation has two users; each user is in ~8
}

func newShape(messages, perConv int) shape {
	s := shape{Messages: messages, PerConv: min(perConv, messages)}
	s.Conversations = max(1, messages/s.PerConv)
	s.Messages = s.Conversations * s.PerConv
	s.Users = max(2, s.Conversations/4)
	return s
}

// vocabulary is a made-up language of 1,728 six-letter words built from
// syllables; word frequencies follow a steep power law (some words are in most
// messages, most are rare), like real chat.
const vocabularySQL = `
create table if not exists bench_vocab as
select i, s1 || s2 || s3 as w
from (select i, (a)[1 + i % 12] s1, (a)[1 + (i / 12) % 12] s2, (a)[1 + (i / 144) % 12] s3
      from generate_series(0, 1727) i,
           (select array['ka','lo','mi','ne','ra','su','ti','vo','ze','pa','do','fi'] a) x) y`

// seed fills an empty, migrated database. It inserts with generate_series in
// a few statements and builds the search index afterwards (as migration
// 00033 defines it), far faster than maintaining it row by row.
func seed(ctx context.Context, pool *pgxpool.Pool, s shape) error {
	start := time.Now()
	steps := []struct{ name, sql string }{
		{"vocabulary", vocabularySQL},
		{"users", fmt.Sprintf(`insert into "user" (id, name, email, "emailVerified")
			select 'bench-u-' || g, 'Bench ' || g, 'bench' || g || '@bench.invalid', false
			from generate_series(0, %d) g`, s.Users-1)},
		{"sessions", `insert into "session" (id, token, "userId", "expiresAt", "updatedAt", "ipAddress", "userAgent")
			select 'bench-s-' || id, 'bench-token-' || id, id, now() + interval '30 days', now(), '', ''
			from "user" where id like 'bench-u-%'`},
		{"conversations", fmt.Sprintf(`insert into conversations (id, kind, title, created_by, last_seq, last_message_at)
			select 'bench-c-' || g, 'group', 'bench ' || g, 'bench-u-' || (g %% %[2]d), %[3]d, now()
			from generate_series(0, %[1]d) g`, s.Conversations-1, s.Users, s.PerConv)},
		// Conversation g has users g mod U and (g + 1 + g / U) mod U: two
		// distinct users, each in about 2 * C / U conversations.
		{"members", fmt.Sprintf(`insert into conversation_members (conversation_id, user_id, role)
			select 'bench-c-' || g, 'bench-u-' || (g %% %[2]d), 'owner' from generate_series(0, %[1]d) g
			union all
			select 'bench-c-' || g, 'bench-u-' || ((g + 1 + g / %[2]d %% (%[2]d - 1)) %% %[2]d), 'member'
			from generate_series(0, %[1]d) g`, s.Conversations-1, s.Users)},
		{"drop search index", `drop index if exists messages_scoped_search_idx`},
		{"messages", fmt.Sprintf(`with v as (select array_agg(w order by i) a from bench_vocab)
			insert into messages (conversation_id, seq, role, sender_user_id, content, created_at, updated_at)
			select c.id, q, 'user', c.created_by,
				(select string_agg(v.a[1 + floor(power(random(), 3) * 1728)::int + 0 * k], ' ')
					from generate_series(1, 4 + (q * 7 + length(c.id)) %% 16) k),
				now() - make_interval(secs => %[1]d - q), now() - make_interval(secs => %[1]d - q)
			from conversations c, generate_series(1, %[1]d) q, v where c.id like 'bench-c-%%'`, s.PerConv)},
		{"search index", `create index messages_scoped_search_idx on messages using gin (messages_scoped_search(conversation_id, search))
			where deleted_at is null and not superseded and octet_length(content) <= 65536`},
		// Vacuumed as autovacuum leaves rows that no longer change (the
		// visibility map), so plans meet the table as production's would.
		{"vacuum", `vacuum analyze`},
		{"mark", fmt.Sprintf(`create table bench_meta as select %d::bigint as messages`, s.Messages)},
	}
	for _, st := range steps {
		t := time.Now()
		if _, err := pool.Exec(ctx, st.sql); err != nil {
			return fmt.Errorf("seed %s: %w", st.name, err)
		}
		slog.Info("seeded", "step", st.name, "seconds", time.Since(t).Seconds())
	}
	slog.Info("seed done", "messages", s.Messages, "conversations", s.Conversations, "users", s.Users,
		"seconds", time.Since(start).Seconds())
	return nil
}

// seeded reports whether the database already holds this shape.
func seeded(ctx context.Context, pool *pgxpool.Pool, s shape) (bool, error) {
	var exists bool
	if err := pool.QueryRow(ctx, `select to_regclass('bench_meta') is not null`).Scan(&exists); err != nil || !exists {
		return false, err
	}
	var n int
	if err := pool.QueryRow(ctx, `select messages from bench_meta`).Scan(&n); err != nil {
		return false, err
	}
	if n != s.Messages {
		return false, fmt.Errorf("database holds a %d-message bench set, not %d: use another -db or -reseed", n, s.Messages)
	}
	return true, nil
}
