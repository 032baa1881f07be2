package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// What the relay reads about agents and conversations to route and dispatch
// replies. (The agents REST aggregate lives in its own file; these queries are
// the relay's narrow view; agent sign-in and skills are in agents.go.)

// RelayAgent is an agent as the relay needs it.
type RelayAgent struct {
	ID          string
	Name        string
	Handle      string
	A2AEndpoint string
	A2AAuth     string
}

// RelayAgentByID returns an agent for dispatch.
func (db *DB) RelayAgentByID(ctx context.Context, agentID string) (RelayAgent, error) {
	var a RelayAgent
	err := db.Pool.QueryRow(ctx, `select id, name, handle, coalesce(a2a_endpoint, ''), coalesce(a2a_auth_header, '')
		from agents where id = $1`, agentID).Scan(&a.ID, &a.Name, &a.Handle, &a.A2AEndpoint, &a.A2AAuth)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// SendTarget is what a send into a conversation needs to know about it.
type SendTarget struct {
	Kind   string       // ari.KindDirect or ari.KindGroup
	Policy string       // turn_policy
	Agents []RelayAgent // its agents, in joining order
}

// SendTargetFor reads, in one round trip, the conversation userID sends
// into: ErrNotFound unless userID is a member of it.
func (db *DB) SendTargetFor(ctx context.Context, conversationID, userID string) (SendTarget, error) {
	var t SendTarget
	var agents []byte
	err := db.Pool.QueryRow(ctx, `select c.kind, c.turn_policy,
		coalesce((select json_agg(json_build_object('id', a.id, 'name', a.name, 'handle', a.handle,
				'a2a', coalesce(a.a2a_endpoint, ''), 'auth', coalesce(a.a2a_auth_header, '')) order by cm.joined_at, a.id)
			from conversation_members cm join agents a on a.id = cm.agent_id where cm.conversation_id = c.id), '[]')
		from conversations c
		where c.id = $1 and exists(select 1 from conversation_members me where me.conversation_id = c.id and me.user_id = $2)`,
		conversationID, userID).Scan(&t.Kind, &t.Policy, &agents)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, ErrNotFound
	}
	if err != nil {
		return t, err
	}
	var list []struct{ ID, Name, Handle, A2A, Auth string }
	if err := json.Unmarshal(agents, &list); err != nil {
		return t, err
	}
	t.Agents = make([]RelayAgent, len(list))
	for i, a := range list {
		t.Agents[i] = RelayAgent{ID: a.ID, Name: a.Name, Handle: a.Handle, A2AEndpoint: a.A2A, A2AAuth: a.Auth}
	}
	return t, nil
}

// HistoryItem is one earlier message given to an agent with a task.
type HistoryItem struct {
	Role       string
	SenderName string
	Content    string
	Seq        int64
	// At is when it was written: a reply counts when it ended.
	At time.Time
}

// TaskInput is what an agent needs to write a reply: the message it
// answers (a person's, or in a chain an agent's reply that mentioned it),
// who sent it, and earlier messages with text (newest last).
type TaskInput struct {
	MessageID  string
	Seq        int64
	Content    string
	SenderID   string
	SenderName string
	// SenderRole is ari.RoleUser or ari.RoleAgent; SenderHandle is the
	// agent's handle when an agent wrote the message.
	SenderRole   string
	SenderHandle string
	Attachments  []TaskAttachment
	History      []HistoryItem
}

// TaskAttachment is an attachment of the message a task answers.
type TaskAttachment struct {
	ID, URL, ContentType, Name string
	Size                       int64
	// Key is the storage key, for a fresh link when the task is sent.
	Key string
}

// TaskInput loads the message userMessageID answers and up to limit earlier
// messages that have text (open replies left out), oldest first.
func (db *DB) TaskInput(ctx context.Context, userMessageID string, limit int) (TaskInput, error) {
	var in TaskInput
	var conv string
	err := db.Pool.QueryRow(ctx, `select m.id, m.seq, m.content, coalesce(m.sender_user_id, m.sender_agent_id, ''),
		coalesce(u.name, a.name, ''), m.role, coalesce(a.handle, ''), m.conversation_id
		from messages m left join "user" u on u.id = m.sender_user_id left join agents a on a.id = m.sender_agent_id
		where m.id = $1`, userMessageID).
		Scan(&in.MessageID, &in.Seq, &in.Content, &in.SenderID, &in.SenderName, &in.SenderRole, &in.SenderHandle, &conv)
	if errors.Is(err, pgx.ErrNoRows) {
		return in, ErrNotFound
	}
	if err != nil {
		return in, err
	}
	rows, err := db.Pool.Query(ctx, `select id, coalesce(url, ''), content_type, original_name, size, storage_key
		from attachments where message_id = $1 order by created_at, id`, userMessageID)
	if err != nil {
		return in, err
	}
	in.Attachments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (TaskAttachment, error) {
		var a TaskAttachment
		err := r.Scan(&a.ID, &a.URL, &a.ContentType, &a.Name, &a.Size, &a.Key)
		return a, err
	})
	if err != nil {
		return in, err
	}
	rows, err = db.Pool.Query(ctx, `select * from (
		select m.role, coalesce(u.name, a.name, ''), m.content, m.seq, coalesce(m.completed_at, m.created_at) from messages m
		left join "user" u on u.id = m.sender_user_id left join agents a on a.id = m.sender_agent_id
		where m.conversation_id = $1 and m.seq < $2 and m.deleted_at is null and m.content <> ''
		  and m.status not in ('pending', 'streaming', 'waiting_input') and not m.superseded
		order by m.seq desc limit $3) h order by seq`, conv, in.Seq, limit)
	if err != nil {
		return in, err
	}
	in.History, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (HistoryItem, error) {
		var h HistoryItem
		err := r.Scan(&h.Role, &h.SenderName, &h.Content, &h.Seq, &h.At)
		return h, err
	})
	return in, err
}

// LiveSessions returns which of the given session ids still exist and have
// not expired, so the relay can close sockets whose session was revoked.
func (db *DB) LiveSessions(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, `select id from "session" where id = any($1) and "expiresAt" > now()`, ids)
	if err != nil {
		return nil, err
	}
	live, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range live {
		out[id] = true
	}
	return out, err
}
