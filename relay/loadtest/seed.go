package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// seeder makes the rows a run needs, all under one run id so that cleanup
// removes exactly them.
type seeder struct {
	pool         *pgxpool.Pool
	run          string
	userIDs      []string
	convIDs      []string
	communityIDs []string
}

type seededUser struct{ ID, Session string }

type seededAgent struct{ ID, Token string }

// pair is one conversation of one user with one agent.
type pair struct {
	User  seededUser
	Agent seededAgent
	Conv  string
}

func openSeeder(ctx context.Context, url string) (*seeder, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	return &seeder{pool: pool, run: "lt" + randomHex(4)}, nil
}

func (s *seeder) close() { s.pool.Close() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// users inserts n users with a one-day session each, in one statement.
func (s *seeder) users(ctx context.Context, n int) ([]seededUser, error) {
	tag := s.run + randomHex(2)
	rows, err := s.pool.Query(ctx, `
		with u as (
			insert into "user"(id, name, email, "emailVerified")
			select $1 || '_u' || i, 'Load ' || i, $1 || '_' || i || '@loadtest.invalid', false
			from generate_series(1, $2::int) i
			returning id)
		insert into session(id, token, "userId", "expiresAt", "updatedAt", "ipAddress", "userAgent")
		select id || '_s', replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''), id, now() + interval '1 day', now(), '', 'loadtest'
		from u
		returning "userId", token`, tag, n)
	if err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (seededUser, error) {
		var u seededUser
		return u, r.Scan(&u.ID, &u.Session)
	})
	if err != nil {
		return nil, fmt.Errorf("seed users: %w", err)
	}
	for _, u := range out {
		s.userIDs = append(s.userIDs, u.ID)
	}
	return out, nil
}

// pairs seeds n users and m agents (owned by the first user) and a direct
// conversation for each user with agent i mod m.
func (s *seeder) pairs(ctx context.Context, n, m int) ([]pair, error) {
	users, err := s.users(ctx, n)
	if err != nil {
		return nil, err
	}
	agents := make([]seededAgent, m)
	batch := &pgx.Batch{}
	for i := range agents {
		a := seededAgent{ID: fmt.Sprintf("%s_a%d_%s", s.run, i, randomHex(6)), Token: "ari_" + randomHex(24)}
		agents[i] = a
		sum := sha256.Sum256([]byte(a.Token))
		batch.Queue(`insert into agents(id, owner_id, name, handle, token_hash, token_hint) values ($1,$2,$3,$4,$5,$6)`,
			a.ID, users[0].ID, fmt.Sprintf("Load agent %d", i), fmt.Sprintf("load-%d", i), sum[:], a.Token[:8])
	}
	out := make([]pair, n)
	for i, u := range users {
		p := pair{User: u, Agent: agents[i%m], Conv: fmt.Sprintf("%s_c%d_%s", s.run, i, randomHex(6))}
		out[i] = p
		s.convIDs = append(s.convIDs, p.Conv)
		batch.Queue(`insert into conversations(id, kind, created_by) values ($1,'direct',$2)`, p.Conv, u.ID)
		batch.Queue(`insert into conversation_members(conversation_id, user_id, role) values ($1,$2,'owner')`, p.Conv, u.ID)
		batch.Queue(`insert into conversation_members(conversation_id, agent_id) values ($1,$2)`, p.Conv, p.Agent.ID)
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("seed agents and conversations: %w", err)
	}
	return out, nil
}

// group seeds a group conversation of n people (the first its owner) and one
// agent (owned by the first person): n+1 members.
func (s *seeder) group(ctx context.Context, n int) (people []seededUser, agent seededAgent, conv string, err error) {
	if people, err = s.users(ctx, n); err != nil {
		return nil, agent, "", err
	}
	agent = seededAgent{ID: fmt.Sprintf("%s_ga_%s", s.run, randomHex(6)), Token: "ari_" + randomHex(24)}
	conv = fmt.Sprintf("%s_g_%s", s.run, randomHex(6))
	s.convIDs = append(s.convIDs, conv)
	sum := sha256.Sum256([]byte(agent.Token))
	batch := &pgx.Batch{}
	batch.Queue(`insert into agents(id, owner_id, name, handle, token_hash, token_hint) values ($1,$2,'Load group agent','load-group',$3,$4)`,
		agent.ID, people[0].ID, sum[:], agent.Token[:8])
	batch.Queue(`insert into conversations(id, kind, created_by, title) values ($1,'group',$2,'Load group')`, conv, people[0].ID)
	for i, u := range people {
		role := "member"
		if i == 0 {
			role = "owner"
		}
		batch.Queue(`insert into conversation_members(conversation_id, user_id, role) values ($1,$2,$3)`, conv, u.ID, role)
	}
	batch.Queue(`insert into conversation_members(conversation_id, agent_id) values ($1,$2)`, conv, agent.ID)
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return nil, agent, "", fmt.Errorf("seed group: %w", err)
	}
	return people, agent, conv, nil
}

// cleanup deletes what this run seeded: conversations and communities
// (messages, channels, members and read marks cascade), then users
// (sessions and agents cascade).
func (s *seeder) cleanup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := s.pool.Exec(ctx, `delete from conversations where id = any($1)`, s.convIDs); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, `delete from communities where id = any($1)`, s.communityIDs); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `delete from "user" where id = any($1)`, s.userIDs)
	return err
}
