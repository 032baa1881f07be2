package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// The chat write path used by the relay: user messages with gap-free seqs,
// agent replies and their one terminal state, read marks and sync state.

// chatColumns is the select list scanMessage reads.
const chatColumns = `m.id, m.conversation_id, m.seq, m.role, m.sender_user_id, m.sender_agent_id,
	m.content, m.status, m.error, m.client_message_id, m.reply_to_id, m.created_at, m.updated_at,
	m.first_chunk_at, m.completed_at, m.deleted_at, ` + versionColumns

// versionColumns are a message's version (0 unless it is a reply), whether
// a newer version supersedes it, and its place in an agent chain (hop 0 and
// no root unless an agent's mention set it off).
const versionColumns = `case when m.reply_to_id is not null then m.version else 0 end, m.superseded,
	m.chain_hop, case when m.chain_hop > 0 then m.chain_root_id end`

func scanChatMessage(row pgx.Row) (ari.Message, error) {
	var m ari.Message
	var firstChunk, completed, deleted *time.Time
	err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.SenderUserID, &m.SenderAgentID,
		&m.Content, &m.Status, &m.Error, &m.ClientMessageID, &m.ReplyToID, &m.CreatedAt, &m.UpdatedAt,
		&firstChunk, &completed, &deleted, &m.Version, &m.Superseded, &m.ChainHop, &m.ChainRootID)
	if err != nil {
		return m, err
	}
	m.FirstChunkAt = optTime(firstChunk)
	m.CompletedAt = optTime(completed)
	m.DeletedAt = optTime(deleted)
	m.Deleted = deleted != nil
	return m, nil
}

func optTime(t *time.Time) *ari.Time {
	if t == nil {
		return nil
	}
	v := ari.T(*t)
	return &v
}

// NewUserMessage is a send from a user, with the agents that must reply to it
// (decided by the caller from the conversation's agents and @mentions).
type NewUserMessage struct {
	UserID          string
	ConversationID  string
	Content         string
	ClientMessageID string
	Attachments     []string
	ReplyAgentIDs   []string
	// Deployment names the relay deployment whose instances run the
	// replies (its REDIS_PREFIX, kv.Keys.Prefix); see OpenReplies.
	Deployment string
	// SessionID, when set, is the sender's session: the message is stored
	// only while that session lives (else ErrSessionEnded), checked in the
	// transaction under a key-share lock on the session row, so a sign-out
	// either comes after the message or refuses it.
	SessionID string
}

// ErrSessionEnded: the sender's session was signed out, revoked or expired.
var ErrSessionEnded = errors.New("store: session ended")

// UserSend is the stored message and the pending replies created with it.
// Created is false when the clientMessageId had been stored before: the
// earlier message and replies are returned and nothing new was written.
type UserSend struct {
	Message ari.Message
	Replies []ari.Message
	Created bool
}

// InsertUserMessage stores a user message and its pending replies in one
// transaction. Each takes the conversation's next seq under the conversation
// row's lock, so seqs are gap-free under concurrent senders; a retry with the
// same (sender, clientMessageId) hits the unique index, rolls back (returning
// its seqs) and answers the stored message. A non-member gets ErrNotFound, as
// does an attachment that is not the caller's, not ready or already attached
// (ErrAttachmentUnusable).
func (db *DB) InsertUserMessage(ctx context.Context, in NewUserMessage) (UserSend, error) {
	// A retry of a stored send is not looked up first: its insert meets
	// messages_client_id_uq, which answers it below (retries are rare; a
	// lookup before every send was one more round trip on each).
	var out UserSend
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		// The session's key-share lock (sessionLives) and the membership,
		// in one round trip.
		var lives, member bool
		if err := tx.QueryRow(ctx, `select $1 = '' or exists(select 1 from "session"
				where id = $1 and "expiresAt" > now() for key share),
			exists(select 1 from conversation_members where conversation_id = $2 and user_id = $3)`,
			in.SessionID, in.ConversationID, in.UserID).Scan(&lives, &member); err != nil {
			return err
		}
		if !lives {
			return ErrSessionEnded
		}
		if !member {
			return ErrNotFound
		}
		msg, err := insertMessage(ctx, tx, in.ConversationID, `insert into messages
			(conversation_id, seq, role, sender_user_id, content, status, client_message_id)
			values ($1, $2, 'user', $3, $4, 'complete', $5)`, in.UserID, in.Content, in.ClientMessageID)
		if err != nil {
			return err
		}
		if _, err := ClaimAttachments(ctx, tx, in.UserID, msg.ID, in.Attachments); err != nil {
			return err
		}
		out.Message = msg
		for _, agentID := range in.ReplyAgentIDs {
			r, err := insertMessage(ctx, tx, in.ConversationID, `insert into messages
				(conversation_id, seq, role, sender_agent_id, status, reply_to_id, relay_deployment)
				values ($1, $2, 'agent', $3, 'pending', $4, $5)`, agentID, msg.ID, in.Deployment)
			if err != nil {
				return err
			}
			out.Replies = append(out.Replies, r)
		}
		out.Created = true
		return nil
	})
	if IsUniqueViolation(err, "messages_client_id_uq") {
		return db.UserSendByClientID(ctx, in.UserID, in.ClientMessageID)
	}
	if err != nil {
		return UserSend{}, err
	}
	return out, nil
}

// sessionLives holds a key-share lock on the session row until the
// transaction ends, so a sign-out either comes after what the transaction
// stores or refuses it (ErrSessionEnded). An empty id checks nothing.
func sessionLives(ctx context.Context, tx pgx.Tx, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	var one int
	err := tx.QueryRow(ctx, `select 1 from "session" where id = $1 and "expiresAt" > now() for key share`,
		sessionID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrSessionEnded
	}
	return err
}

// insertMessage allocates the next seq and runs insert (whose $1 is the
// conversation and $2 the seq), returning the stored row.
func insertMessage(ctx context.Context, tx pgx.Tx, conversationID, insert string, args ...any) (ari.Message, error) {
	var seq int64
	if err := tx.QueryRow(ctx, `update conversations set last_seq = last_seq + 1, last_message_at = now(),
		updated_at = now() where id = $1 returning last_seq`, conversationID).Scan(&seq); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return ari.Message{}, ErrNotFound
		}
		return ari.Message{}, err
	}
	all := append([]any{conversationID, seq}, args...)
	return scanChatMessage(tx.QueryRow(ctx, `with m as (`+insert+` returning *) select `+chatColumns+` from m`, all...))
}

// UserSendByClientID returns what an earlier send with this clientMessageId
// stored (ErrNotFound when there was none).
func (db *DB) UserSendByClientID(ctx context.Context, userID, clientMessageID string) (UserSend, error) {
	msg, err := scanChatMessage(db.Pool.QueryRow(ctx, `select `+chatColumns+` from messages m
		where m.sender_user_id = $1 and m.client_message_id = $2`, userID, clientMessageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return UserSend{}, ErrNotFound
	}
	if err != nil {
		return UserSend{}, err
	}
	rows, err := db.Pool.Query(ctx, `select `+chatColumns+` from messages m
		where m.reply_to_id = $1 and m.role = 'agent' order by m.seq`, msg.ID)
	if err != nil {
		return UserSend{}, err
	}
	replies, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Message, error) { return scanChatMessage(r) })
	if err != nil {
		return UserSend{}, err
	}
	return UserSend{Message: msg, Replies: replies}, nil
}

// Message returns one message by id, unscoped: for the relay's own use on ids
// it created (replies), never on ids a client sent.
func (db *DB) Message(ctx context.Context, id string) (ari.Message, error) {
	m, err := scanChatMessage(db.Pool.QueryRow(ctx, `select `+chatColumns+` from messages m where m.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

// MemberReply returns the agent reply id if the user is a member of its
// conversation; ErrNotFound otherwise (unknown and foreign ids alike).
func (db *DB) MemberReply(ctx context.Context, userID, messageID string) (ari.Message, error) {
	m, err := scanChatMessage(db.Pool.QueryRow(ctx, `select `+chatColumns+` from messages m
		join conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = $1
		where m.id = $2 and m.role = 'agent'`, userID, messageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

// StartReply moves a pending reply to streaming. False: it was not pending
// (already started, or ended, e.g. cancelled while queued).
func (db *DB) StartReply(ctx context.Context, replyID string) (bool, error) {
	tag, err := db.Pool.Exec(ctx, `update messages set status = 'streaming', updated_at = now()
		where id = $1 and status = 'pending'`, replyID)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// MarkFirstChunk records when the agent's first chunk arrived (once).
func (db *DB) MarkFirstChunk(ctx context.Context, replyID string) error {
	_, err := db.Pool.Exec(ctx, `update messages set first_chunk_at = now(), updated_at = now()
		where id = $1 and first_chunk_at is null`, replyID)
	return err
}

// SettleReply gives a reply its terminal status and final text. Only the first
// call for a reply changes anything (the WHERE admits only open replies), so
// racing relay instances settle a reply exactly once; settled tells the caller
// whether it was that one.
func (db *DB) SettleReply(ctx context.Context, replyID, status, content, errText string) (ari.Message, bool, error) {
	switch status {
	case ari.StatusComplete, ari.StatusError, ari.StatusCancelled:
	default:
		return ari.Message{}, false, fmt.Errorf("store: settle with status %q", status)
	}
	var errVal *string
	if errText != "" {
		errVal = &errText
	}
	// A request the reply still waits on closes with it (cancelled).
	m, err := scanChatMessage(db.Pool.QueryRow(ctx, `with m as (
		update messages set status = $2, content = $3, error = $4, completed_at = now(), updated_at = now()
		where id = $1 and status in ('pending', 'streaming', 'waiting_input') returning *),
		r as (update input_requests set state = 'cancelled', resolved_at = now()
		where message_id = $1 and state = 'open' and exists (select 1 from m))
		select `+chatColumns+` from m`, replyID, status, content, errVal))
	if errors.Is(err, pgx.ErrNoRows) {
		return ari.Message{}, false, nil
	}
	if err != nil {
		return ari.Message{}, false, err
	}
	return m, true, nil
}

// OpenReply is a reply not yet in a terminal state.
type OpenReply struct {
	ID             string
	ConversationID string
	AgentID        string
	Status         string
	Seq            int64
	CreatedAt      time.Time
}

// Replies belong to the relay deployment that created them
// (NewUserMessage.Deployment, its REDIS_PREFIX): deployments that share the
// database keep their live state apart in Redis, so the queries a relay runs
// over open replies see only its own deployment's, and replies stored before
// replies were marked (NULL), which every deployment sees.
const ownReplies = `(relay_deployment = $1 or relay_deployment is null)`

// OpenReplies lists the deployment's pending, streaming or waiting replies, oldest
// first per conversation (the relay's sweeper un-wedges conversations from it).
func (db *DB) OpenReplies(ctx context.Context, deployment string) ([]OpenReply, error) {
	return db.openReplies(ctx, `select id, conversation_id, coalesce(sender_agent_id, ''), status, seq, created_at
		from messages where status in ('pending', 'streaming', 'waiting_input') and `+ownReplies+`
		order by conversation_id, seq`, deployment)
}

// ConversationOpenReplies lists a conversation's open replies, oldest first.
func (db *DB) ConversationOpenReplies(ctx context.Context, conversationID string) ([]OpenReply, error) {
	return db.openReplies(ctx, `select id, conversation_id, coalesce(sender_agent_id, ''), status, seq, created_at
		from messages where status in ('pending', 'streaming', 'waiting_input') and conversation_id = $1 order by seq`, conversationID)
}

// UserStreamingReplies lists the deployment's streaming replies (waiting
// for input included: they stream again once answered) in the user's
// conversations (another deployment's buffers are not in its Redis).
func (db *DB) UserStreamingReplies(ctx context.Context, deployment, userID string) ([]OpenReply, error) {
	return db.openReplies(ctx, `select m.id, m.conversation_id, coalesce(m.sender_agent_id, ''), m.status, m.seq, m.created_at
		from messages m join conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = $2
		where m.status in ('streaming', 'waiting_input') and `+ownReplies+` order by m.conversation_id, m.seq`, deployment, userID)
}

func (db *DB) openReplies(ctx context.Context, q string, args ...any) ([]OpenReply, error) {
	rows, err := db.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (OpenReply, error) {
		var o OpenReply
		err := r.Scan(&o.ID, &o.ConversationID, &o.AgentID, &o.Status, &o.Seq, &o.CreatedAt)
		return o, err
	})
}

// MarkRead moves the user's read mark forward to seq (lowered to the
// conversation's last seq; never backwards) and returns the stored mark.
func (db *DB) MarkRead(ctx context.Context, userID, conversationID string, seq int64) (stored int64, moved bool, err error) {
	var before int64
	err = db.Pool.QueryRow(ctx, `with prev as (select last_read_seq from conversation_reads where conversation_id = $1 and user_id = $2)
		insert into conversation_reads (conversation_id, user_id, last_read_seq)
		select c.id, cm.user_id, least($3, c.last_seq) from conversations c
		join conversation_members cm on cm.conversation_id = c.id and cm.user_id = $2
		where c.id = $1
		on conflict (conversation_id, user_id) do update
		set last_read_seq = greatest(conversation_reads.last_read_seq, excluded.last_read_seq), updated_at = now()
		returning last_read_seq, coalesce((select last_read_seq from prev), 0)`, conversationID, userID, seq).Scan(&stored, &before)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, ErrNotFound
	}
	return stored, stored > before, err
}

// ConversationState is where one conversation stands for one user.
type ConversationState struct {
	ConversationID string
	LastSeq        int64
	LastReadSeq    int64
	UnreadCount    int64
}

// ConversationStates lists the user's conversations with their last seq, the
// user's read mark and the number of messages after it not sent by the user.
func (db *DB) ConversationStates(ctx context.Context, userID string) ([]ConversationState, error) {
	rows, err := db.Pool.Query(ctx, `select c.id, c.last_seq, coalesce(r.last_read_seq, 0),
		(select count(*) from messages m where m.conversation_id = c.id
		   and m.seq > coalesce(r.last_read_seq, 0) and m.deleted_at is null
		   and m.sender_user_id is distinct from $1)
		from conversation_members cm
		join conversations c on c.id = cm.conversation_id
		left join conversation_reads r on r.conversation_id = c.id and r.user_id = $1
		where cm.user_id = $1 order by c.id`, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConversationState, error) {
		var s ConversationState
		err := r.Scan(&s.ConversationID, &s.LastSeq, &s.LastReadSeq, &s.UnreadCount)
		return s, err
	})
}

// AgentStreamingReplies lists the agent's streaming replies of the
// deployment, those waiting for input included.
func (db *DB) AgentStreamingReplies(ctx context.Context, deployment, agentID string) ([]OpenReply, error) {
	return db.openReplies(ctx, `select id, conversation_id, coalesce(sender_agent_id, ''), status, seq, created_at
		from messages where status in ('streaming', 'waiting_input') and sender_agent_id = $2 and `+ownReplies+`
		order by conversation_id, seq`, deployment, agentID)
}
