package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// appName marks this tool's own Postgres connections, so the connection
// count it samples is the servers' alone.
const appName = "ari-bench-routes"

// seeder writes the rows a run needs under one run tag, so cleanup removes
// exactly them.
type seeder struct {
	pool *pgxpool.Pool
	tag  string
}

// member is a seeded user with a session token and their conversations.
type member struct {
	ID, Token string
	Convs     []string
}

func openSeeder(ctx context.Context, url string) (*seeder, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = appName
	cfg.MaxConns = 2
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &seeder{pool: pool, tag: "br" + hex.EncodeToString(b)}, nil
}

func (s *seeder) close() { s.pool.Close() }

// seed makes users, each owning perUser group conversations with the next
// users (so each is in about 2×perUser), every conversation holding
// messages messages, in a few set-based statements.
func (s *seeder) seed(ctx context.Context, users, perUser, messages int) ([]member, error) {
	type step struct {
		sql  string
		args []any
	}
	tu, tup, tupm := []any{s.tag, users}, []any{s.tag, users, perUser}, []any{s.tag, users, perUser, messages}
	steps := []step{
		{`insert into "user" (id, name, email, "emailVerified")
			select $1 || '-u' || i, 'Bench ' || i, $1 || '-' || i || '@bench.invalid', false
			from generate_series(0, $2::int - 1) i`, tu},
		{`insert into session (id, token, "userId", "expiresAt", "updatedAt", "ipAddress", "userAgent")
			select $1 || '-s' || i, $1 || '-t' || i || '-' || md5(random()::text), $1 || '-u' || i,
				now() + interval '1 day', now(), '', 'bench'
			from generate_series(0, $2::int - 1) i`, tu},
		{`insert into conversations (id, kind, title, created_by, last_seq, last_message_at)
			select $1 || '-c' || i || '-' || j, 'group', 'bench', $1 || '-u' || i, $4, now()
			from generate_series(0, $2::int - 1) i, generate_series(0, $3::int - 1) j`, tupm},
		{`insert into conversation_members (conversation_id, user_id, role)
			select $1 || '-c' || i || '-' || j, $1 || '-u' || i, 'owner'
			from generate_series(0, $2::int - 1) i, generate_series(0, $3::int - 1) j
			union all
			select $1 || '-c' || i || '-' || j, $1 || '-u' || ((i + 1 + j) % $2::int), 'member'
			from generate_series(0, $2::int - 1) i, generate_series(0, $3::int - 1) j`, tup},
		// Conversations interleave in time, as in real use: message q of
		// every conversation before message q+1 of any.
		{`insert into messages (conversation_id, seq, role, sender_user_id, content, created_at, updated_at)
			select $1 || '-c' || i || '-' || j, q, 'user', $1 || '-u' || i,
				'bench message ' || q || ' of conversation ' || i || '-' || j,
				now() - make_interval(secs => $4 - q), now() - make_interval(secs => $4 - q)
			from generate_series(1, $4::int) q, generate_series(0, $2::int - 1) i, generate_series(0, $3::int - 1) j`, tupm},
	}
	for _, st := range steps {
		if _, err := s.pool.Exec(ctx, st.sql, st.args...); err != nil {
			return nil, fmt.Errorf("seed: %w", err)
		}
	}
	if _, err := s.pool.Exec(ctx, `analyze messages`); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	rows, err := s.pool.Query(ctx, `select u.id, s.token,
			array(select c.id from conversations c where c.created_by = u.id order by c.id)
		from "user" u join session s on s."userId" = u.id
		where u.id like $1 || '-u%' order by u.id`, s.tag)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (member, error) {
		var m member
		return m, r.Scan(&m.ID, &m.Token, &m.Convs)
	})
}

// cleanup deletes what this run seeded: conversations (members and
// messages cascade), then users (sessions cascade).
func (s *seeder) cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `delete from conversations where id like $1 || '-c%'`, s.tag); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `delete from "user" where id like $1 || '-u%'`, s.tag)
	return err
}

// backends counts the client connections open on the database, other than
// this tool's own.
func (s *seeder) backends(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `select count(*) from pg_stat_activity
		where datname = current_database() and backend_type = 'client backend' and application_name <> $1`, appName).Scan(&n)
	return n, err
}
