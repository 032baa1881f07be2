package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// Member roles in a conversation.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// MemberRole returns the caller's role in a conversation, or ErrNotFound when
// the conversation does not exist or the caller is not a member: the two are
// indistinguishable on purpose (a foreign id answers 404).
func (db *DB) MemberRole(ctx context.Context, conversationID, userID string) (string, error) {
	var role string
	err := db.Pool.QueryRow(ctx, `select role from conversation_members
		where conversation_id = $1 and user_id = $2`, conversationID, userID).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return role, err
}

// MemberUserIDs lists the users (not agents) of a conversation, for fan-out.
func (db *DB) MemberUserIDs(ctx context.Context, conversationID string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `select user_id from conversation_members
		where conversation_id = $1 and user_id is not null order by joined_at, user_id`, conversationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// MemberUserIDsOf is MemberUserIDs for many conversations in one query (the
// relay re-reads the members of every conversation it streams a reply in).
// A conversation without users (or that does not exist) has no entry.
func (db *DB) MemberUserIDsOf(ctx context.Context, conversationIDs []string) (map[string][]string, error) {
	rows, err := db.Pool.Query(ctx, `select conversation_id, user_id from conversation_members
		where conversation_id = any($1) and user_id is not null order by conversation_id, joined_at, user_id`, conversationIDs)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	var conv, user string
	_, err = pgx.ForEachRow(rows, []any{&conv, &user}, func() error {
		out[conv] = append(out[conv], user)
		return nil
	})
	return out, err
}

// MemberAgentIDs lists the agents of a conversation.
func (db *DB) MemberAgentIDs(ctx context.Context, conversationID string) ([]string, error) {
	rows, err := db.Pool.Query(ctx, `select agent_id from conversation_members
		where conversation_id = $1 and agent_id is not null order by joined_at, agent_id`, conversationID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
