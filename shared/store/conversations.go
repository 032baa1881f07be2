package store

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// ErrSeqAhead is returned when a read mark names a seq the conversation has
// not reached.
var ErrSeqAhead = errors.New("store: seq is past the conversation's last message")

// ErrNotAllowed is returned when the caller is a member but their role does
// not allow the change.
var ErrNotAllowed = errors.New("store: not allowed for this member's role")

// ConversationCursor is a position in a user's conversation list, ordered by
// last activity, newest first.
type ConversationCursor struct {
	Activity time.Time `json:"t"`
	ID       string    `json:"i"`
}

// conversationSelect reads a conversation as member $1 sees it; callers add
// the WHERE clause on c/cm and the order. The agents, the newest message and
// the unread count each ride an index: conversation_members_agent_uq's
// conversation prefix, and (conversation_id, seq) for the other two, so the
// unread count reads only the unread rows.
var conversationSelect = `
	select c.id, c.kind, c.title, c.created_by, c.last_seq, c.last_message_at, c.created_at, c.updated_at, c.turn_policy, c.chain_hops,
		cm.role, cm.muted, coalesce(r.last_read_seq, 0),
		(select count(*) from messages u where u.conversation_id = c.id
			and u.seq > coalesce(r.last_read_seq, 0) and u.deleted_at is null
			and u.sender_user_id is distinct from $1),
		coalesce((select json_agg(json_build_object('id', a.id, 'name', a.name, 'handle', a.handle,
				'avatarUrl', a.avatar_url) order by am.joined_at, a.id)
			from conversation_members am join agents a on a.id = am.agent_id
			where am.conversation_id = c.id and am.agent_id is not null), '[]'::json),
		lm.id, lm.seq, lm.role, lm.sender_user_id, lm.sender_agent_id,
		case when lm.deleted_at is null then left(lm.content, ` + strconv.Itoa(ari.PreviewLength) + `) else '' end,
		lm.status, lm.deleted_at is not null, lm.created_at
	from conversation_members cm
	join conversations c on c.id = cm.conversation_id
	left join conversation_reads r on r.conversation_id = c.id and r.user_id = $1
	left join lateral (select m.id, m.seq, m.role, m.sender_user_id, m.sender_agent_id, m.content,
		m.status, m.deleted_at, m.created_at from messages m where m.conversation_id = c.id
		order by m.seq desc limit 1) lm on true
	where cm.user_id = $1`

func scanConversation(row pgx.Row) (ari.Conversation, error) {
	var c ari.Conversation
	var lmID, lmRole, lmContent, lmStatus *string
	var lmSeq *int64
	var lmDeleted *bool
	var lmCreated *ari.Time
	var lm ari.MessagePreview
	err := row.Scan(&c.ID, &c.Kind, &c.Title, &c.CreatedBy, &c.LastSeq, &c.LastMessageAt, &c.CreatedAt, &c.UpdatedAt, &c.TurnPolicy, &c.ChainHops,
		&c.Role, &c.Muted, &c.LastReadSeq, &c.UnreadCount, &c.Agents,
		&lmID, &lmSeq, &lmRole, &lm.SenderUserID, &lm.SenderAgentID, &lmContent, &lmStatus, &lmDeleted, &lmCreated)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, err
	}
	if c.Agents == nil {
		c.Agents = []ari.ConversationAgent{}
	}
	if lmID != nil {
		lm.ID, lm.Seq, lm.Role, lm.Content, lm.Status = *lmID, *lmSeq, *lmRole, *lmContent, *lmStatus
		lm.Deleted, lm.CreatedAt = *lmDeleted, *lmCreated
		c.LastMessage = &lm
	}
	return c, nil
}

// ConversationFor returns a conversation as member userID sees it, or
// ErrNotFound when it does not exist or userID is not a member.
func (db *DB) ConversationFor(ctx context.Context, userID, conversationID string) (ari.Conversation, error) {
	return scanConversation(db.Pool.QueryRow(ctx, conversationSelect+` and c.id = $2`, userID, conversationID))
}

// ConversationsFor lists userID's conversations by last activity, newest
// first, after the cursor.
func (db *DB) ConversationsFor(ctx context.Context, userID string, after *ConversationCursor, limit int) ([]ari.Conversation, error) {
	var t *time.Time
	var id string
	if after != nil {
		t, id = &after.Activity, after.ID
	}
	rows, err := db.Pool.Query(ctx, conversationSelect+`
		and ($2::timestamptz is null or (coalesce(c.last_message_at, c.created_at), c.id) < ($2, $3))
		order by coalesce(c.last_message_at, c.created_at) desc, c.id desc limit $4`, userID, t, id, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Conversation, error) { return scanConversation(r) })
}

// CreateDirectConversation starts a conversation between userID (its owner)
// and one agent that userID may talk to (their own or a public one); any
// other agent is ErrNotFound.
func (db *DB) CreateDirectConversation(ctx context.Context, userID, agentID, title string) (ari.Conversation, error) {
	var id string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		// key share: the agent cannot be deleted between this check and the
		// membership insert.
		var ok bool
		err := tx.QueryRow(ctx, `select true from agents where id = $1
			and (owner_id = $2 or visibility = 'public') for key share`, agentID, userID).Scan(&ok)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `insert into conversations (kind, title, created_by)
			values ('direct', $1, $2) returning id`, title, userID).Scan(&id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `insert into conversation_members (conversation_id, user_id, agent_id, role)
			values ($1, $2, null, 'owner'), ($1, null, $3, 'member')`, id, userID, agentID)
		return err
	})
	if err != nil {
		return ari.Conversation{}, err
	}
	return db.ConversationFor(ctx, userID, id)
}

// ConversationChange is what PUT /api/conversations/{id} changes; a nil
// field stays as it is.
type ConversationChange struct {
	Title      *string
	TurnPolicy *string // one of ari.TurnQueue, TurnReject, TurnInterrupt
	ChainHops  *int    // 0 to ari.MaxChainHops
}

// UpdateConversation applies a change; only an owner or admin may. A member
// with another role gets ErrNotAllowed, anyone else ErrNotFound.
func (db *DB) UpdateConversation(ctx context.Context, userID, conversationID string, ch ConversationChange) (ari.Conversation, error) {
	role, err := db.MemberRole(ctx, conversationID, userID)
	if err != nil {
		return ari.Conversation{}, err
	}
	if role != RoleOwner && role != RoleAdmin {
		return ari.Conversation{}, ErrNotAllowed
	}
	tag, err := db.Pool.Exec(ctx, `update conversations c set title = coalesce($3, title),
		turn_policy = coalesce($4, turn_policy), chain_hops = coalesce($5, chain_hops), updated_at = now()
		where c.id = $2 and exists (select 1 from conversation_members cm where cm.conversation_id = c.id
			and cm.user_id = $1 and cm.role in ('owner', 'admin'))`, userID, conversationID, ch.Title, ch.TurnPolicy, ch.ChainHops)
	if err != nil {
		return ari.Conversation{}, err
	}
	if tag.RowsAffected() == 0 {
		return ari.Conversation{}, ErrNotFound
	}
	return db.ConversationFor(ctx, userID, conversationID)
}

// TurnPolicy returns the conversation's turn policy (ErrNotFound when it
// does not exist); the relay reads it for every message addressed to an
// agent, after checking the sender's membership.
func (db *DB) TurnPolicy(ctx context.Context, conversationID string) (string, error) {
	var p string
	err := db.Pool.QueryRow(ctx, `select turn_policy from conversations where id = $1`, conversationID).Scan(&p)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", ErrNotFound
	}
	return p, err
}

// DeleteConversation removes a conversation for everyone; only an owner may
// (ErrNotAllowed for other members). It returns the users who were members,
// to tell them.
func (db *DB) DeleteConversation(ctx context.Context, userID, conversationID string) ([]string, error) {
	var users []string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var role string
		err := tx.QueryRow(ctx, `select cm.role from conversations c
			join conversation_members cm on cm.conversation_id = c.id and cm.user_id = $1
			where c.id = $2 for update of c`, userID, conversationID).Scan(&role)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if role != RoleOwner {
			return ErrNotAllowed
		}
		rows, err := tx.Query(ctx, `select user_id from conversation_members
			where conversation_id = $1 and user_id is not null order by user_id`, conversationID)
		if err != nil {
			return err
		}
		if users, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `delete from conversations where id = $1`, conversationID)
		return err
	})
	return users, err
}

// LeaveConversation removes userID's membership. It returns the member id
// that was removed and the users who remain, to tell them.
func (db *DB) LeaveConversation(ctx context.Context, userID, conversationID string) (memberID string, remaining []string, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `delete from conversation_members
			where conversation_id = $1 and user_id = $2 returning member_id`, conversationID, userID).Scan(&memberID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from conversation_reads where conversation_id = $1 and user_id = $2`,
			conversationID, userID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select user_id from conversation_members
			where conversation_id = $1 and user_id is not null order by user_id`, conversationID)
		if err != nil {
			return err
		}
		remaining, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return memberID, remaining, err
}

// MarkConversationRead moves userID's read mark up to seq, never backwards.
// A seq past the conversation's last message is ErrSeqAhead. It returns the
// stored mark and whether this call moved it.
func (db *DB) MarkConversationRead(ctx context.Context, userID, conversationID string, seq int64) (int64, bool, error) {
	var stored, before int64
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var last int64
		err := tx.QueryRow(ctx, `select c.last_seq from conversations c
			join conversation_members cm on cm.conversation_id = c.id and cm.user_id = $1
			where c.id = $2`, userID, conversationID).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if seq > last {
			return ErrSeqAhead
		}
		return tx.QueryRow(ctx, `
			with prev as (select last_read_seq from conversation_reads where conversation_id = $1 and user_id = $2)
			insert into conversation_reads as r (conversation_id, user_id, last_read_seq) values ($1, $2, $3)
			on conflict (conversation_id, user_id) do update
				set last_read_seq = greatest(r.last_read_seq, excluded.last_read_seq),
				    updated_at = case when excluded.last_read_seq > r.last_read_seq then now() else r.updated_at end
			returning last_read_seq, coalesce((select last_read_seq from prev), 0)`,
			conversationID, userID, seq).Scan(&stored, &before)
	})
	return stored, stored > before, err
}

// ToggleMute flips userID's muted flag and returns the new value.
func (db *DB) ToggleMute(ctx context.Context, userID, conversationID string) (bool, error) {
	var muted bool
	err := db.Pool.QueryRow(ctx, `update conversation_members set muted = not muted
		where conversation_id = $1 and user_id = $2 returning muted`, conversationID, userID).Scan(&muted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, ErrNotFound
	}
	return muted, err
}
