package store

import (
	"context"
	"errors"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Errors of reacting that the caller may see.
var (
	// ErrMessageDeleted: a tombstone takes no reactions.
	ErrMessageDeleted = errors.New("store: message is deleted")
	// ErrTooManyReactions: the user has ari.MaxReactionsPerUser on the message.
	ErrTooManyReactions = errors.New("store: too many reactions")
)

// ReactionChange says what a reaction call did.
type ReactionChange struct {
	ConversationID string
	// Changed is false when the reaction was already there (add) or was not
	// there (remove).
	Changed bool
	// Count is the emoji's reaction count on the message afterwards.
	Count int64
}

// memberMessage locks the message for share (a delete, which removes its
// reactions, waits for us or we for it) and checks userID is a member.
func memberMessage(ctx context.Context, tx pgx.Tx, userID, messageID string) (conversationID string, deleted bool, err error) {
	err = tx.QueryRow(ctx, `select m.conversation_id, m.deleted_at is not null from messages m
		join conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = $2
		where m.id = $1 for share of m`, messageID, userID).Scan(&conversationID, &deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, ErrNotFound
	}
	return conversationID, deleted, err
}

// AddReaction records userID's emoji on a message of a conversation they are
// in; adding it again changes nothing.
func (db *DB) AddReaction(ctx context.Context, userID, messageID, emoji string) (ReactionChange, error) {
	var ch ReactionChange
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		conv, deleted, err := memberMessage(ctx, tx, userID, messageID)
		if err != nil {
			return err
		}
		if deleted {
			return ErrMessageDeleted
		}
		ch.ConversationID = conv
		tag, err := tx.Exec(ctx, `insert into message_reactions (message_id, user_id, emoji)
			select $1, $2, $3 where (select count(*) from message_reactions where message_id = $1 and user_id = $2) < $4
			on conflict do nothing`, messageID, userID, emoji, ari.MaxReactionsPerUser)
		if err != nil {
			return err
		}
		ch.Changed = tag.RowsAffected() == 1
		if !ch.Changed {
			var mine bool
			if err := tx.QueryRow(ctx, `select exists(select 1 from message_reactions
				where message_id = $1 and user_id = $2 and emoji = $3)`, messageID, userID, emoji).Scan(&mine); err != nil {
				return err
			}
			if !mine {
				return ErrTooManyReactions
			}
		}
		return tx.QueryRow(ctx, `select count(*) from message_reactions where message_id = $1 and emoji = $2`,
			messageID, emoji).Scan(&ch.Count)
	})
	return ch, err
}

// RemoveReaction takes userID's emoji off a message; removing one that is not
// there changes nothing.
func (db *DB) RemoveReaction(ctx context.Context, userID, messageID, emoji string) (ReactionChange, error) {
	var ch ReactionChange
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		conv, _, err := memberMessage(ctx, tx, userID, messageID)
		if err != nil {
			return err
		}
		ch.ConversationID = conv
		tag, err := tx.Exec(ctx, `delete from message_reactions where message_id = $1 and user_id = $2 and emoji = $3`,
			messageID, userID, emoji)
		if err != nil {
			return err
		}
		ch.Changed = tag.RowsAffected() == 1
		return tx.QueryRow(ctx, `select count(*) from message_reactions where message_id = $1 and emoji = $2`,
			messageID, emoji).Scan(&ch.Count)
	})
	return ch, err
}

// Reactions counts a message's reactions per emoji, in the order each emoji
// was first used, and says which are userID's.
func (db *DB) Reactions(ctx context.Context, userID, messageID string) ([]ari.ReactionCount, error) {
	var member bool
	if err := db.Pool.QueryRow(ctx, `select exists(select 1 from messages m
		join conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = $2
		where m.id = $1)`, messageID, userID).Scan(&member); err != nil {
		return nil, err
	}
	if !member {
		return nil, ErrNotFound
	}
	rows, err := db.Pool.Query(ctx, `select emoji, count(*), bool_or(user_id = $2) from message_reactions
		where message_id = $1 group by emoji order by min(created_at), emoji`, messageID, userID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.ReactionCount, error) {
		var c ari.ReactionCount
		err := r.Scan(&c.Emoji, &c.Count, &c.Me)
		return c, err
	})
}
