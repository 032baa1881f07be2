package store

import (
	"context"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// The pages an account export reads (shared/account): every method takes
// the exporting user and a keyset cursor, so the export never holds more
// than a page and never keeps a connection while it writes to the client.

// ExportPage is how many rows one export query returns.
const ExportPage = 500

// AccountAgentsPage is userID's agents with ids after `after`, by id.
func (db *DB) AccountAgentsPage(ctx context.Context, userID, after string) ([]ari.Agent, error) {
	rows, err := db.Pool.Query(ctx, `select `+agentColumns+` from agents a
		where a.owner_id = $1 and a.id > $2 order by a.id limit $3`, userID, after, ExportPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Agent, error) { return scanAgent(r) })
}

// AccountConversation is a conversation the user is in, or has written in.
type AccountConversation struct {
	ID        string   `json:"id"`
	Kind      string   `json:"kind"`
	Title     string   `json:"title"`
	CreatedAt ari.Time `json:"createdAt"`
	// Role is the user's role; nil when they left (only their own
	// messages are exported then).
	Role     *string   `json:"role"`
	JoinedAt *ari.Time `json:"joinedAt"`
}

// AccountConversationsPage is the conversations userID is a member of or has
// messages in, with ids after `after`, by id.
func (db *DB) AccountConversationsPage(ctx context.Context, userID, after string) ([]AccountConversation, error) {
	rows, err := db.Pool.Query(ctx, `select c.id, c.kind, c.title, c.created_at, m.role, m.joined_at
		from conversations c
		left join conversation_members m on m.conversation_id = c.id and m.user_id = $1
		where c.id > $2 and (m.user_id is not null
			or exists (select 1 from messages x where x.conversation_id = c.id and x.sender_user_id = $1))
		order by c.id limit $3`, userID, after, ExportPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccountConversation, error) {
		var c AccountConversation
		err := r.Scan(&c.ID, &c.Kind, &c.Title, &c.CreatedAt, &c.Role, &c.JoinedAt)
		return c, err
	})
}

// AccountMessage is one message as exported.
type AccountMessage struct {
	ID            string   `json:"id"`
	Seq           int64    `json:"seq"`
	Role          string   `json:"role"`
	SenderUserID  *string  `json:"senderUserId"`
	SenderAgentID *string  `json:"senderAgentId"`
	Content       string   `json:"content"`
	Status        string   `json:"status"`
	CreatedAt     ari.Time `json:"createdAt"`
	Deleted       bool     `json:"deleted"`
}

// AccountMessagesPage is the messages of conversationID after seq `after`: all of
// them while userID is a member, else only userID's own.
func (db *DB) AccountMessagesPage(ctx context.Context, userID, conversationID string, after int64) ([]AccountMessage, error) {
	rows, err := db.Pool.Query(ctx, `select m.id, m.seq, m.role, m.sender_user_id, m.sender_agent_id,
			case when m.deleted_at is null then m.content else '' end, m.status, m.created_at, m.deleted_at is not null
		from messages m
		where m.conversation_id = $2 and m.seq > $3
		  and (m.sender_user_id = $1 or exists (select 1 from conversation_members cm
		       where cm.conversation_id = m.conversation_id and cm.user_id = $1))
		order by m.seq limit $4`, userID, conversationID, after, ExportPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccountMessage, error) {
		var m AccountMessage
		err := r.Scan(&m.ID, &m.Seq, &m.Role, &m.SenderUserID, &m.SenderAgentID, &m.Content, &m.Status, &m.CreatedAt, &m.Deleted)
		return m, err
	})
}

// AccountReaction is one of the user's reactions.
type AccountReaction struct {
	MessageID      string   `json:"messageId"`
	ConversationID string   `json:"conversationId"`
	Emoji          string   `json:"emoji"`
	CreatedAt      ari.Time `json:"createdAt"`
}

// AccountReactionsPage is userID's reactions after (messageID, emoji), in that order.
func (db *DB) AccountReactionsPage(ctx context.Context, userID, afterMessage, afterEmoji string) ([]AccountReaction, error) {
	rows, err := db.Pool.Query(ctx, `select r.message_id, m.conversation_id, r.emoji, r.created_at
		from message_reactions r join messages m on m.id = r.message_id
		where r.user_id = $1 and (r.message_id, r.emoji) > ($2, $3)
		order by r.message_id, r.emoji limit $4`, userID, afterMessage, afterEmoji, ExportPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (AccountReaction, error) {
		var x AccountReaction
		err := r.Scan(&x.MessageID, &x.ConversationID, &x.Emoji, &x.CreatedAt)
		return x, err
	})
}

// AccountAttachmentsPage is userID's uploads with ids after `after`, by id.
func (db *DB) AccountAttachmentsPage(ctx context.Context, userID, after string) ([]ari.Attachment, error) {
	rows, err := db.Pool.Query(ctx, `select `+attachmentCols+` from attachments
		where owner_id = $1 and id > $2 order by id limit $3`, userID, after, ExportPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Attachment, error) { return scanAttachment(r) })
}
