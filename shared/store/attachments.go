package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// MaxAttachmentsPerMessage bounds how many files one message may carry.
const MaxAttachmentsPerMessage = 10

// ErrAttachmentUnusable is what ClaimAttachments answers for any id it cannot
// attach: unknown, someone else's, still pending, or already on a message.
// The cases are not told apart, so a foreign id reveals nothing.
var ErrAttachmentUnusable = &ari.Error{Code: ari.CodeNotFound, Message: "attachment not found, not ready or already attached"}

const attachmentCols = `id, owner_id, message_id, channel_message_id, storage_key, original_name, content_type,
	size, status, coalesce(url, ''), created_at, attached_at`

func scanAttachment(row pgx.Row) (ari.Attachment, error) {
	var a ari.Attachment
	err := row.Scan(&a.ID, &a.OwnerID, &a.MessageID, &a.ChannelMessageID, &a.StorageKey, &a.Name, &a.ContentType,
		&a.Size, &a.Status, &a.URL, &a.CreatedAt, &a.AttachedAt)
	return a, err
}

func collectAttachments(rows pgx.Rows) ([]ari.Attachment, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.Attachment, error) { return scanAttachment(r) })
}

// CreateAttachment inserts a new attachment for a.OwnerID with a.StorageKey,
// Name, ContentType, Size, Status and URL; the database assigns id and times.
func (db *DB) CreateAttachment(ctx context.Context, a ari.Attachment) (ari.Attachment, error) {
	var url *string
	if a.URL != "" {
		url = &a.URL
	}
	return scanAttachment(db.Pool.QueryRow(ctx, `insert into attachments
		(owner_id, storage_key, original_name, content_type, size, status, url)
		values ($1, $2, $3, $4, $5, $6, $7) returning `+attachmentCols,
		a.OwnerID, a.StorageKey, a.Name, a.ContentType, a.Size, a.Status, url))
}

// Attachment returns the caller's attachment; ErrNotFound for an unknown id
// and for someone else's alike.
func (db *DB) Attachment(ctx context.Context, ownerID, id string) (ari.Attachment, error) {
	a, err := scanAttachment(db.Pool.QueryRow(ctx, `select `+attachmentCols+`
		from attachments where id = $1 and owner_id = $2`, id, ownerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// MarkAttachmentReady turns the caller's pending attachment into a usable
// one once its object has been checked and stored under key. ErrNotFound
// when there is no such pending attachment (already completed, deleted, or
// not the caller's).
func (db *DB) MarkAttachmentReady(ctx context.Context, ownerID, id, key, url string) (ari.Attachment, error) {
	a, err := scanAttachment(db.Pool.QueryRow(ctx, `update attachments
		set status = 'ready', storage_key = $3, url = nullif($4, '')
		where id = $1 and owner_id = $2 and status = 'pending' returning `+attachmentCols, id, ownerID, key, url))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// DeleteUnattachedAttachment removes the caller's attachment if it is on no
// message and returns it (the caller then deletes its object). ErrNotFound
// when there is none; an attached file goes only with its message.
func (db *DB) DeleteUnattachedAttachment(ctx context.Context, ownerID, id string) (ari.Attachment, error) {
	a, err := scanAttachment(db.Pool.QueryRow(ctx, `delete from attachments
		where id = $1 and owner_id = $2 and message_id is null and channel_message_id is null returning `+attachmentCols, id, ownerID))
	if errors.Is(err, pgx.ErrNoRows) {
		return a, ErrNotFound
	}
	return a, err
}

// ClaimAttachments attaches ids to messageID inside the caller's
// transaction (the one that inserts the message). Every id must be ownerID's,
// ready, and on no message yet; otherwise it returns ErrAttachmentUnusable
// (or an invalid-request error for a malformed list) and changes nothing.
// The rows are locked first, so two sends racing for one file cannot both
// win. The result is in the order of ids.
func ClaimAttachments(ctx context.Context, tx pgx.Tx, ownerID, messageID string, ids []string) ([]ari.Attachment, error) {
	return claimAttachments(ctx, tx, ownerID, "message_id", messageID, ids)
}

// ClaimChannelAttachments is ClaimAttachments for a channel message.
func ClaimChannelAttachments(ctx context.Context, tx pgx.Tx, ownerID, messageID string, ids []string) ([]ari.Attachment, error) {
	return claimAttachments(ctx, tx, ownerID, "channel_message_id", messageID, ids)
}

// claimAttachments sets column (message_id or channel_message_id, never a
// client's string) of the claimed rows.
func claimAttachments(ctx context.Context, tx pgx.Tx, ownerID, column, messageID string, ids []string) ([]ari.Attachment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > MaxAttachmentsPerMessage {
		return nil, ari.Invalid(map[string]string{"attachmentIds": fmt.Sprintf("at most %d attachments per message", MaxAttachmentsPerMessage)})
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if seen[id] {
			return nil, ari.Invalid(map[string]string{"attachmentIds": "an attachment is listed twice"})
		}
		seen[id] = true
	}
	rows, err := tx.Query(ctx, `select id from attachments
		where id = any($1) and owner_id = $2 and status = 'ready' and message_id is null and channel_message_id is null
		for update`, ids, ownerID)
	if err != nil {
		return nil, err
	}
	usable, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	if len(usable) != len(ids) {
		return nil, ErrAttachmentUnusable
	}
	rows, err = tx.Query(ctx, `update attachments set `+column+` = $2, attached_at = now()
		where id = any($1) returning `+attachmentCols, ids, messageID)
	if err != nil {
		return nil, err
	}
	claimed, err := collectAttachments(rows)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b ari.Attachment) int {
		return slices.Index(ids, a.ID) - slices.Index(ids, b.ID)
	})
	return claimed, nil
}

// AttachmentsForMessages returns the attachments of each message, keyed by
// message id, each list in upload order. The caller has already checked that
// it may read these messages.
func (db *DB) AttachmentsForMessages(ctx context.Context, messageIDs []string) (map[string][]ari.Attachment, error) {
	out := map[string][]ari.Attachment{}
	if len(messageIDs) == 0 {
		return out, nil
	}
	rows, err := db.Pool.Query(ctx, `select `+attachmentCols+` from attachments
		where message_id = any($1) order by created_at, id`, messageIDs)
	if err != nil {
		return nil, err
	}
	list, err := collectAttachments(rows)
	if err != nil {
		return nil, err
	}
	for _, a := range list {
		out[*a.MessageID] = append(out[*a.MessageID], a)
	}
	return out, nil
}

// DeleteMessageAttachments removes the attachment rows of a message being
// deleted and returns their storage keys; the caller deletes the objects
// after its transaction commits (storage.DeleteObjects). An object whose
// deletion fails is only a stray file: no row points at it any more.
func (db *DB) DeleteMessageAttachments(ctx context.Context, messageID string) ([]string, error) {
	var keys []string
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var err error
		keys, err = DeleteMessageAttachmentsTx(ctx, tx, messageID)
		return err
	})
	return keys, err
}

// DeleteMessageAttachmentsTx is DeleteMessageAttachments inside the caller's
// transaction, so the tombstone and the rows go together.
func DeleteMessageAttachmentsTx(ctx context.Context, tx pgx.Tx, messageID string) ([]string, error) {
	rows, err := tx.Query(ctx, `delete from attachments where message_id = $1 returning storage_key`, messageID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// orphanBatch bounds how many rows one cleanup transaction holds locked while
// their objects are deleted.
const orphanBatch = 100

// CleanupOrphanAttachments deletes every attachment that is on no message and
// was created before cutoff: uploads never attached, presigns never completed,
// and files whose message row was removed outright (message_id set null).
// Each batch deletes its rows, calls deleteObject for every key, and commits
// only when all objects are gone, so a failure leaves the rows for the next
// run rather than leaking objects. Rows are taken with SKIP LOCKED: a row a
// send is claiming right now is passed over, never deleted under it. It
// returns how many attachments were removed.
func (db *DB) CleanupOrphanAttachments(ctx context.Context, cutoff time.Time, deleteObject func(ctx context.Context, key string) error) (int, error) {
	total := 0
	for {
		n := 0
		err := db.Tx(ctx, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `delete from attachments where id in (
					select id from attachments where message_id is null and channel_message_id is null and created_at < $1
					order by created_at limit $2 for update skip locked)
				returning storage_key`, cutoff, orphanBatch)
			if err != nil {
				return err
			}
			keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			for _, k := range keys {
				if err := deleteObject(ctx, k); err != nil {
					return fmt.Errorf("store: delete orphan object %q: %w", k, err)
				}
			}
			n = len(keys)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < orphanBatch {
			return total, nil
		}
	}
}

// AttachmentKeys returns which of keys an attachment row still names (its
// object must stay), for the cleanup of stray objects.
func (db *DB) AttachmentKeys(ctx context.Context, keys []string) (map[string]bool, error) {
	rows, err := db.Pool.Query(ctx, `select storage_key from attachments where storage_key = any($1)`, keys)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(found))
	for _, k := range found {
		out[k] = true
	}
	return out, nil
}
