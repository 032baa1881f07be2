package store

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// AgentFields are the owner-editable fields of an agent. On update a nil
// field is left as it is; an empty string clears a nullable field.
type AgentFields struct {
	Name          *string
	Description   *string
	AvatarURL     *string
	A2AEndpoint   *string
	A2AAuthHeader *string
	Visibility    *string
}

// AgentCursor is a position in an owner's agent list (newest first).
type AgentCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// agentColumns is read by scanAgent, in this order.
const agentColumns = `a.id, a.owner_id, a.name, a.handle, a.description, a.avatar_url,
	a.visibility, a.skills, a.a2a_endpoint, coalesce(a.a2a_auth_header, ''), a.token_hint,
	a.last_seen_at, a.created_at, a.updated_at`

func scanAgent(row pgx.Row) (ari.Agent, error) {
	var a ari.Agent
	err := row.Scan(&a.ID, &a.OwnerID, &a.Name, &a.Handle, &a.Description, &a.AvatarURL,
		&a.Visibility, &a.Skills, &a.A2AEndpoint, &a.A2AAuthHeader, &a.TokenHint,
		&a.LastSeenAt, &a.CreatedAt, &a.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	a.A2AAuthHeaderSet = a.A2AAuthHeader != ""
	if a.Skills == nil {
		a.Skills = []ari.Skill{}
	}
	return a, err
}

func agentNullable(s *string) *string {
	if s == nil || *s == "" {
		return nil
	}
	return s
}

func agentSkillsOrEmpty(s []ari.Skill) []ari.Skill {
	if s == nil {
		return []ari.Skill{}
	}
	return s
}

// CreateAgent inserts an agent owned by ownerID with the given token hash.
// Name and Visibility must be set; the handle is derived from the name.
func (db *DB) CreateAgent(ctx context.Context, ownerID string, f AgentFields, skills []ari.Skill, tokenHash []byte, tokenHint string) (ari.Agent, error) {
	deref := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	name := deref(f.Name)
	return scanAgent(db.Pool.QueryRow(ctx, `
		insert into agents as a (owner_id, name, handle, description, avatar_url, a2a_endpoint,
			a2a_auth_header, visibility, skills, token_hash, token_hint)
		values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		returning `+agentColumns,
		ownerID, name, ari.AgentHandle(name), deref(f.Description), agentNullable(f.AvatarURL),
		agentNullable(f.A2AEndpoint), agentNullable(f.A2AAuthHeader), deref(f.Visibility),
		agentSkillsOrEmpty(skills), tokenHash, tokenHint))
}

// AgentsByOwner lists ownerID's agents, newest first, after the cursor.
func (db *DB) AgentsByOwner(ctx context.Context, ownerID string, after *AgentCursor, limit int) ([]ari.Agent, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.CreatedAt, after.ID
	}
	rows, err := db.Pool.Query(ctx, `select `+agentColumns+` from agents a
		where a.owner_id = $1 and ($2::timestamptz is null or (a.created_at, a.id) < ($2, $3))
		order by a.created_at desc, a.id desc limit $4`, ownerID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Agent, error) { return scanAgent(r) })
}

// VisibleAgent returns an agent the caller may talk to: their own, or any
// public one. Anything else is ErrNotFound. Callers that are not the owner
// must show only a.Public().
func (db *DB) VisibleAgent(ctx context.Context, callerID, agentID string) (ari.Agent, error) {
	return scanAgent(db.Pool.QueryRow(ctx, `select `+agentColumns+` from agents a
		where a.id = $1 and (a.owner_id = $2 or a.visibility = 'public')`, agentID, callerID))
}

// UpdateAgent changes the set fields of ownerID's agent; a new name also
// renames the handle.
func (db *DB) UpdateAgent(ctx context.Context, ownerID, agentID string, f AgentFields) (ari.Agent, error) {
	var handle *string
	if f.Name != nil {
		h := ari.AgentHandle(*f.Name)
		handle = &h
	}
	return scanAgent(db.Pool.QueryRow(ctx, `update agents a set
			name = coalesce($3, name),
			handle = coalesce($4, handle),
			description = coalesce($5, description),
			avatar_url = case when $6::text is null then avatar_url else nullif($6, '') end,
			a2a_endpoint = case when $7::text is null then a2a_endpoint else nullif($7, '') end,
			a2a_auth_header = case when $8::text is null then a2a_auth_header else nullif($8, '') end,
			visibility = coalesce($9, visibility),
			updated_at = now()
		where a.id = $1 and a.owner_id = $2
		returning `+agentColumns,
		agentID, ownerID, f.Name, handle, f.Description, f.AvatarURL, f.A2AEndpoint, f.A2AAuthHeader, f.Visibility))
}

// DeleteAgent removes ownerID's agent. Its memberships go with it; its
// messages stay, with no sender agent.
func (db *DB) DeleteAgent(ctx context.Context, ownerID, agentID string) error {
	tag, err := db.Pool.Exec(ctx, `delete from agents where id = $1 and owner_id = $2`, agentID, ownerID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// SetAgentToken replaces the token hash of ownerID's agent: from this
// statement's commit on, the old token no longer authenticates.
func (db *DB) SetAgentToken(ctx context.Context, ownerID, agentID string, tokenHash []byte, tokenHint string) (ari.Agent, error) {
	return scanAgent(db.Pool.QueryRow(ctx, `update agents a set token_hash = $3, token_hint = $4, updated_at = now()
		where a.id = $1 and a.owner_id = $2 returning `+agentColumns, agentID, ownerID, tokenHash, tokenHint))
}

// ReplaceAgentSkills sets the skills of ownerID's agent (already validated).
func (db *DB) ReplaceAgentSkills(ctx context.Context, ownerID, agentID string, skills []ari.Skill) (ari.Agent, error) {
	return scanAgent(db.Pool.QueryRow(ctx, `update agents a set skills = $3, updated_at = now()
		where a.id = $1 and a.owner_id = $2 returning `+agentColumns, agentID, ownerID, agentSkillsOrEmpty(skills)))
}

// AgentByTokenHash finds the agent whose token hashes to hash (the relay's
// agent sign-in). ErrNotFound for any other value, including a revoked token.
func (db *DB) AgentByTokenHash(ctx context.Context, hash []byte) (ari.Agent, error) {
	var stored []byte
	row := db.Pool.QueryRow(ctx, `select `+agentColumns+`, a.token_hash from agents a where a.token_hash = $1`, hash)
	var a ari.Agent
	err := row.Scan(&a.ID, &a.OwnerID, &a.Name, &a.Handle, &a.Description, &a.AvatarURL,
		&a.Visibility, &a.Skills, &a.A2AEndpoint, &a.A2AAuthHeader, &a.TokenHint,
		&a.LastSeenAt, &a.CreatedAt, &a.UpdatedAt, &stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return ari.Agent{}, ErrNotFound
	}
	if err != nil {
		return ari.Agent{}, err
	}
	// The index lookup already matched; the constant-time comparison keeps the
	// decision itself free of data-dependent timing.
	if subtle.ConstantTimeCompare(stored, hash) != 1 {
		return ari.Agent{}, ErrNotFound
	}
	a.A2AAuthHeaderSet = a.A2AAuthHeader != ""
	a.Skills = agentSkillsOrEmpty(a.Skills)
	return a, nil
}

// AgentByToken authenticates an agent by its secret token.
func (db *DB) AgentByToken(ctx context.Context, token string) (ari.Agent, error) {
	if !ari.WellFormedAgentToken(token) {
		return ari.Agent{}, ErrNotFound
	}
	return db.AgentByTokenHash(ctx, ari.HashAgentToken(token))
}

// SetAgentSkills stores what a connected agent declared (the relay validates
// with ari.ValidateSkills first). The agent is the caller here.
func (db *DB) SetAgentSkills(ctx context.Context, agentID string, skills []ari.Skill) error {
	tag, err := db.Pool.Exec(ctx, `update agents set skills = $2, updated_at = now() where id = $1`,
		agentID, agentSkillsOrEmpty(skills))
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchAgentLastSeen records that the relay heard from the agent at at. It
// never moves the time backwards (heartbeats from two instances may race).
func (db *DB) TouchAgentLastSeen(ctx context.Context, agentID string, at time.Time) error {
	_, err := db.Pool.Exec(ctx, `update agents set last_seen_at = greatest(last_seen_at, $2)
		where id = $1`, agentID, at)
	return err
}

// AgentStats summarises ownerID's agent: conversations it is in, messages in
// them, and its replies (not the messages it started: those carry a
// clientMessageId) by outcome with median and p95 latencies, computed by
// Postgres over the agent's index (messages_agent_idx).
func (db *DB) AgentStats(ctx context.Context, ownerID, agentID string) (ari.AgentStats, error) {
	s := ari.AgentStats{AgentID: agentID}
	var found bool
	err := db.Pool.QueryRow(ctx, `
		with agent as (select id, last_seen_at from agents where id = $1 and owner_id = $2),
		convs as (select conversation_id from conversation_members where agent_id = (select id from agent)),
		replies as (
			select status, created_at, first_chunk_at, completed_at from messages
			where sender_agent_id = (select id from agent) and role = 'agent'
				and client_message_id is null)
		select (select last_seen_at from agent),
			(select count(*) from convs),
			(select count(*) from messages m where m.conversation_id in (select conversation_id from convs)
				and m.deleted_at is null),
			count(*) filter (where status = 'complete'),
			count(*) filter (where status = 'error'),
			count(*) filter (where status = 'cancelled'),
			count(*) filter (where status in ('pending', 'streaming', 'waiting_input')),
			percentile_cont(0.5) within group (order by extract(epoch from first_chunk_at - created_at) * 1000),
			percentile_cont(0.95) within group (order by extract(epoch from first_chunk_at - created_at) * 1000),
			percentile_cont(0.5) within group (order by extract(epoch from completed_at - created_at) * 1000)
				filter (where status = 'complete'),
			percentile_cont(0.95) within group (order by extract(epoch from completed_at - created_at) * 1000)
				filter (where status = 'complete'),
			exists (select 1 from agent)
		from replies`, agentID, ownerID).Scan(&s.LastSeenAt, &s.Conversations, &s.Messages,
		&s.Replies.Completed, &s.Replies.Errored, &s.Replies.Cancelled, &s.Replies.InFlight,
		&s.FirstChunkMs.Median, &s.FirstChunkMs.P95, &s.CompletionMs.Median, &s.CompletionMs.P95, &found)
	if err == nil && !found {
		err = ErrNotFound
	}
	return s, err
}

// AgentTaskCursor is a position in an agent's history (newest first).
type AgentTaskCursor struct {
	CreatedAt time.Time `json:"t"`
	ID        string    `json:"i"`
}

// AgentHistory lists the replies ownerID's agent was asked to write (not the
// messages it started), newest first, after the cursor. Content is left out: outcome and timings only.
func (db *DB) AgentHistory(ctx context.Context, ownerID, agentID string, after *AgentTaskCursor, limit int) ([]ari.AgentTask, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.CreatedAt, after.ID
	}
	rows, err := db.Pool.Query(ctx, `
		select m.id, m.conversation_id, m.seq, m.reply_to_id, m.status, m.error, m.created_at,
			m.first_chunk_at, m.completed_at,
			extract(epoch from m.first_chunk_at - m.created_at)::float8 * 1000,
			extract(epoch from m.completed_at - m.created_at)::float8 * 1000
		from messages m
		where m.sender_agent_id = (select id from agents where id = $1 and owner_id = $2)
			and m.role = 'agent' and m.client_message_id is null
			and ($3::timestamptz is null or (m.created_at, m.id) < ($3, $4))
		order by m.created_at desc, m.id desc limit $5`, agentID, ownerID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.AgentTask, error) {
		var k ari.AgentTask
		err := r.Scan(&k.MessageID, &k.ConversationID, &k.Seq, &k.ReplyToID, &k.Status, &k.Error,
			&k.CreatedAt, &k.FirstChunkAt, &k.CompletedAt, &k.FirstChunkMs, &k.DurationMs)
		return k, err
	})
}

// ExportConversation is what an export says about one conversation.
type ExportConversation struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title"`
	LastSeq   int64    `json:"lastSeq"`
	CreatedAt ari.Time `json:"createdAt"`
}

// EachAgentExportRow walks, in one consistent snapshot, the conversations
// that ownerID shares with their agent and every message in them, ordered by
// conversation and seq. fn gets each message (nil for a conversation with
// none) and may stream it out; the rows are never collected in memory.
// Only conversations the owner is a member of are exported: other people's
// conversations with a public agent are theirs.
func (db *DB) EachAgentExportRow(ctx context.Context, ownerID, agentID string, fn func(c ExportConversation, m *ari.Message) error) error {
	tx, err := db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	rows, err := tx.Query(ctx, `
		select c.id, c.kind, c.title, c.last_seq, c.created_at,
			m.id, m.seq, m.role, m.sender_user_id, m.sender_agent_id, m.content, m.status, m.error,
			m.reply_to_id, m.created_at, m.updated_at, m.first_chunk_at, m.completed_at, m.deleted_at
		from conversations c
		join conversation_members ma on ma.conversation_id = c.id and ma.agent_id = $1
		join conversation_members mu on mu.conversation_id = c.id and mu.user_id = $2
		join agents a on a.id = ma.agent_id and a.owner_id = $2
		left join messages m on m.conversation_id = c.id
		order by c.created_at, c.id, m.seq`, agentID, ownerID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c ExportConversation
		var id, role, status *string
		var seq *int64
		var content *string
		var created, updated *ari.Time
		var m ari.Message
		if err := rows.Scan(&c.ID, &c.Kind, &c.Title, &c.LastSeq, &c.CreatedAt,
			&id, &seq, &role, &m.SenderUserID, &m.SenderAgentID, &content, &status, &m.Error,
			&m.ReplyToID, &created, &updated, &m.FirstChunkAt, &m.CompletedAt, &m.DeletedAt); err != nil {
			return err
		}
		if id == nil {
			if err := fn(c, nil); err != nil {
				return err
			}
			continue
		}
		m.ID, m.ConversationID, m.Seq, m.Role, m.Status = *id, c.ID, *seq, *role, *status
		m.Content, m.CreatedAt, m.UpdatedAt = *content, *created, *updated
		m.Deleted = m.DeletedAt != nil
		if m.Deleted {
			m.Content = ""
		}
		if err := fn(c, &m); err != nil {
			return err
		}
	}
	return rows.Err()
}
