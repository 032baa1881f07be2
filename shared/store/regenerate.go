package store

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Regenerate: a new answer, from the same agent, to the latest message from
// a person in a conversation. The new reply is a new row (next seq, status
// pending, version one more than the newest before it); the earlier
// versions stay, marked superseded.

// NewRegenerate asks for a new version of an agent's answer. MessageID names
// the person's message or any version of a reply to it; AgentID, optional,
// picks the agent when several answered the person's message.
type NewRegenerate struct {
	UserID         string
	ConversationID string
	MessageID      string
	AgentID        string
	// Deployment and SessionID as in NewUserMessage.
	Deployment string
	SessionID  string
}

// Regenerated is the stored new version and the version it supersedes.
type Regenerated struct {
	Reply    ari.Message
	Previous ari.Message
}

// RegenerateRefused: the message exists and is the caller's to see, but
// cannot be answered again; Reason is written for people.
type RegenerateRefused struct{ Reason string }

func (e *RegenerateRefused) Error() string { return "store: regenerate refused: " + e.Reason }

// RegenerateOpen: the conversation has a regenerated reply still pending or
// streaming (ReplyID); one at a time.
type RegenerateOpen struct{ ReplyID string }

func (e *RegenerateOpen) Error() string { return "store: a regenerate is open: " + e.ReplyID }

// Regenerate stores a new pending version of an agent's reply to the
// conversation's latest message from a person, in one transaction under the
// conversation row's lock (so no send slips in between the check and the
// insert). A caller who is not a member, an unknown message, or one of
// another conversation is ErrNotFound; a message that cannot be answered
// again is *RegenerateRefused; an open regenerate is *RegenerateOpen.
func (db *DB) Regenerate(ctx context.Context, in NewRegenerate) (Regenerated, error) {
	var out Regenerated
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if err := sessionLives(ctx, tx, in.SessionID); err != nil {
			return err
		}
		var member bool
		if err := tx.QueryRow(ctx, `select exists(select 1 from conversation_members
			where conversation_id = $1 and user_id = $2)`, in.ConversationID, in.UserID).Scan(&member); err != nil {
			return err
		}
		if !member {
			return ErrNotFound
		}
		var one int
		if err := tx.QueryRow(ctx, `select 1 from conversations where id = $1 for update`, in.ConversationID).Scan(&one); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return ErrNotFound
			}
			return err
		}
		person, agent, err := regenerateTarget(ctx, tx, in)
		if err != nil {
			return err
		}
		prev, err := scanChatMessage(tx.QueryRow(ctx, `select `+chatColumns+` from messages m
			where m.reply_to_id = $1 and m.sender_agent_id = $2 and m.role = 'agent'
			order by m.version desc, m.seq desc limit 1`, person, agent))
		if errors.Is(err, pgx.ErrNoRows) {
			return &RegenerateRefused{Reason: "this agent did not answer the message"}
		}
		if err != nil {
			return err
		}
		var present bool
		if err := tx.QueryRow(ctx, `select exists(select 1 from conversation_members
			where conversation_id = $1 and agent_id = $2)`, in.ConversationID, agent).Scan(&present); err != nil {
			return err
		}
		if !present {
			return &RegenerateRefused{Reason: "the agent is no longer in this conversation"}
		}
		reply, err := insertMessage(ctx, tx, in.ConversationID, `insert into messages
			(conversation_id, seq, role, sender_agent_id, status, reply_to_id, relay_deployment, version)
			values ($1, $2, 'agent', $3, 'pending', $4, $5, $6)`, agent, person, in.Deployment, prev.Version+1)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `update messages set superseded = true, updated_at = now()
			where reply_to_id = $1 and sender_agent_id = $2 and id <> $3 and not superseded`, person, agent, reply.ID); err != nil {
			return err
		}
		prev.Superseded = true
		out = Regenerated{Reply: reply, Previous: prev}
		return nil
	})
	if IsUniqueViolation(err, "messages_one_regenerate_uq") {
		id, qerr := db.OpenRegenerate(ctx, in.ConversationID)
		if qerr != nil {
			return Regenerated{}, qerr
		}
		return Regenerated{}, &RegenerateOpen{ReplyID: id}
	}
	return out, err
}

// regenerateTarget resolves in.MessageID to the person's message to answer
// again and the agent to answer it, checking that it is the conversation's
// latest message from a person.
func regenerateTarget(ctx context.Context, tx pgx.Tx, in NewRegenerate) (person, agent string, err error) {
	var role string
	var replyTo, sender *string
	var seq int64
	var deleted bool
	err = tx.QueryRow(ctx, `select role, reply_to_id, sender_agent_id, seq, deleted_at is not null from messages
		where id = $1 and conversation_id = $2`, in.MessageID, in.ConversationID).Scan(&role, &replyTo, &sender, &seq, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", ErrNotFound
	}
	if err != nil {
		return "", "", err
	}
	person, agent = in.MessageID, in.AgentID
	switch {
	case role == ari.RoleAgent && replyTo != nil && sender != nil:
		if agent != "" && agent != *sender {
			return "", "", &RegenerateRefused{Reason: "agentId is not the agent that wrote this reply"}
		}
		person, agent = *replyTo, *sender
		if err := tx.QueryRow(ctx, `select seq, deleted_at is not null, role from messages where id = $1`, person).Scan(&seq, &deleted, &role); err != nil {
			return "", "", err
		}
		if role != ari.RoleUser { // a reply in an agent chain answers an agent
			return "", "", &RegenerateRefused{Reason: "only an answer to a person's message can be written again"}
		}
	case role != ari.RoleUser:
		return "", "", &RegenerateRefused{Reason: "only an answer to a person's message can be written again"}
	}
	if deleted {
		return "", "", &RegenerateRefused{Reason: "the message was deleted"}
	}
	var later bool
	if err := tx.QueryRow(ctx, `select exists(select 1 from messages where conversation_id = $1 and role = 'user'
		and deleted_at is null and seq > $2)`, in.ConversationID, seq).Scan(&later); err != nil {
		return "", "", err
	}
	if later {
		return "", "", &RegenerateRefused{Reason: "only the answer to the latest message from a person can be written again"}
	}
	if agent != "" {
		return person, agent, nil
	}
	var agents []string
	if err := tx.QueryRow(ctx, `select coalesce(array_agg(distinct sender_agent_id), '{}') from messages
		where reply_to_id = $1 and role = 'agent' and sender_agent_id is not null`, person).Scan(&agents); err != nil {
		return "", "", err
	}
	switch len(agents) {
	case 0:
		return "", "", &RegenerateRefused{Reason: "no agent answered this message"}
	case 1:
		return person, agents[0], nil
	}
	return "", "", &RegenerateRefused{Reason: "several agents answered this message; name one with agentId"}
}

// OpenRegenerate returns the conversation's regenerated reply that is still
// pending or streaming ("" for none).
func (db *DB) OpenRegenerate(ctx context.Context, conversationID string) (string, error) {
	var id string
	err := db.Pool.QueryRow(ctx, `select id from messages where conversation_id = $1 and version > 1
		and status in ('pending', 'streaming', 'waiting_input')`, conversationID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return id, err
}

// PreviousVersion returns the version of reply just before it (ErrNotFound
// for a first answer), for the task and stream_start of a regenerate.
func (db *DB) PreviousVersion(ctx context.Context, reply ari.Message) (ari.Message, error) {
	if reply.ReplyToID == nil || reply.SenderAgentID == nil || reply.Version <= 1 {
		return ari.Message{}, ErrNotFound
	}
	m, err := scanChatMessage(db.Pool.QueryRow(ctx, `select `+chatColumns+` from messages m
		where m.reply_to_id = $1 and m.sender_agent_id = $2 and m.role = 'agent' and m.version < $3
		order by m.version desc, m.seq desc limit 1`, *reply.ReplyToID, *reply.SenderAgentID, reply.Version))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	return m, err
}

// SeesMessage reports ErrNotFound unless the user is a member of the
// conversation and the message is one of its messages: the cheap check a
// function makes before handing a regenerate to the relay.
func (db *DB) SeesMessage(ctx context.Context, userID, conversationID, messageID string) error {
	var ok bool
	err := db.Pool.QueryRow(ctx, `select exists(select 1 from messages m
		join conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = $1
		where m.id = $3 and m.conversation_id = $2)`, userID, conversationID, messageID).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}
