package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Whether an agent can be reached is a socket on some relay instance (Redis,
// shared/presence) or an A2A endpoint (here). These queries give the
// callers the agents they may ask about and the endpoint half.

// AgentReach is an agent member and whether it has an A2A endpoint.
type AgentReach struct {
	ID  string
	A2A bool
}

// ConversationAgentReach lists the agents of a conversation in the order
// they joined.
func (db *DB) ConversationAgentReach(ctx context.Context, conversationID string) ([]AgentReach, error) {
	return db.agentReach(ctx, `select a.id, coalesce(a.a2a_endpoint, '') <> ''
		from conversation_members cm join agents a on a.id = cm.agent_id
		where cm.conversation_id = $1 order by cm.joined_at, a.id`, conversationID)
}

// UserAgentReach lists, once each, the agents of every conversation userID
// is a member of.
func (db *DB) UserAgentReach(ctx context.Context, userID string) ([]AgentReach, error) {
	return db.agentReach(ctx, `select a.id, coalesce(a.a2a_endpoint, '') <> '' from agents a
		where a.id in (select am.agent_id from conversation_members um
			join conversation_members am on am.conversation_id = um.conversation_id and am.agent_id is not null
			where um.user_id = $1)
		order by a.id`, userID)
}

func (db *DB) agentReach(ctx context.Context, q string, arg string) ([]AgentReach, error) {
	rows, err := db.Pool.Query(ctx, q, arg)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AgentReach, error) {
		var a AgentReach
		err := r.Scan(&a.ID, &a.A2A)
		return a, err
	})
}

// AgentA2A reports whether the agent has an A2A endpoint (false for an
// unknown agent).
func (db *DB) AgentA2A(ctx context.Context, agentID string) (bool, error) {
	var has bool
	err := db.Pool.QueryRow(ctx, `select exists(select 1 from agents where id = $1
		and coalesce(a2a_endpoint, '') <> '')`, agentID).Scan(&has)
	return has, err
}

// MemberConversationAgentIDs lists the agents of a conversation userID is
// a member of; ErrNotFound when the user is not (or it does not exist).
func (db *DB) MemberConversationAgentIDs(ctx context.Context, userID, conversationID string) ([]string, error) {
	if _, err := db.MemberRole(ctx, conversationID, userID); err != nil {
		return nil, err
	}
	return db.MemberAgentIDs(ctx, conversationID)
}

// Watching is one user looking at one conversation.
type Watching struct {
	UserID         string
	ConversationID string
}

// StillWatching keeps the pairs whose user and agentID are both still
// members of the conversation, in one query.
func (db *DB) StillWatching(ctx context.Context, agentID string, pairs []Watching) (map[Watching]bool, error) {
	out := map[Watching]bool{}
	if len(pairs) == 0 {
		return out, nil
	}
	users := make([]string, len(pairs))
	convs := make([]string, len(pairs))
	for i, p := range pairs {
		users[i], convs[i] = p.UserID, p.ConversationID
	}
	rows, err := db.Pool.Query(ctx, `select um.user_id, um.conversation_id
		from unnest($2::text[], $3::text[]) as w(user_id, conversation_id)
		join conversation_members um on um.user_id = w.user_id and um.conversation_id = w.conversation_id
		join conversation_members am on am.conversation_id = w.conversation_id and am.agent_id = $1`, agentID, users, convs)
	if err != nil {
		return nil, err
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Watching, error) {
		var w Watching
		err := r.Scan(&w.UserID, &w.ConversationID)
		return w, err
	})
	for _, w := range got {
		out[w] = true
	}
	return out, err
}
