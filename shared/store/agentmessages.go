package store

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// NewAgentMessage is a message an agent starts in a conversation, without a
// task (relay/PROTOCOL.md section 9, agent_message).
type NewAgentMessage struct {
	AgentID         string
	ConversationID  string
	Content         string
	ClientMessageID string
}

// AgentPost is a stored agent message; Created is false when the
// clientMessageId had been stored before and the earlier message is returned.
type AgentPost struct {
	Message ari.Message
	Created bool
}

// ErrClientIDInUse: the sender already used the clientMessageId for a message
// in another conversation; nothing was stored.
var ErrClientIDInUse = errors.New("store: clientMessageId already used in another conversation")

// InsertAgentMessage stores an agent's message with the conversation's next
// seq, status complete. The agent must be a member (else ErrNotFound, for
// unknown and foreign conversations alike). A retry with the same (agent,
// clientMessageId) hits messages_agent_client_id_uq and answers the stored
// message; the same id in another conversation is ErrClientIDInUse.
func (db *DB) InsertAgentMessage(ctx context.Context, in NewAgentMessage) (AgentPost, error) {
	if prior, err := db.agentMessageByClientID(ctx, in); !errors.Is(err, ErrNotFound) {
		return prior, err
	}
	var out AgentPost
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var member bool
		if err := tx.QueryRow(ctx, `select exists(select 1 from conversation_members
			where conversation_id = $1 and agent_id = $2)`, in.ConversationID, in.AgentID).Scan(&member); err != nil {
			return err
		}
		if !member {
			return ErrNotFound
		}
		msg, err := insertMessage(ctx, tx, in.ConversationID, `insert into messages
			(conversation_id, seq, role, sender_agent_id, content, status, client_message_id)
			values ($1, $2, 'agent', $3, $4, 'complete', $5)`, in.AgentID, in.Content, in.ClientMessageID)
		if err != nil {
			return err
		}
		out = AgentPost{Message: msg, Created: true}
		return nil
	})
	if IsUniqueViolation(err, "messages_agent_client_id_uq") {
		return db.agentMessageByClientID(ctx, in)
	}
	return out, err
}

// agentMessageByClientID finds what an earlier post with in's clientMessageId
// stored: ErrNotFound when nothing, ErrClientIDInUse when it is another
// conversation's.
func (db *DB) agentMessageByClientID(ctx context.Context, in NewAgentMessage) (AgentPost, error) {
	m, err := scanChatMessage(db.Pool.QueryRow(ctx, `select `+chatColumns+` from messages m
		where m.sender_agent_id = $1 and m.client_message_id = $2`, in.AgentID, in.ClientMessageID))
	if errors.Is(err, pgx.ErrNoRows) {
		return AgentPost{}, ErrNotFound
	}
	if err != nil {
		return AgentPost{}, err
	}
	if m.ConversationID != in.ConversationID {
		return AgentPost{}, ErrClientIDInUse
	}
	return AgentPost{Message: m}, nil
}
