package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// MaxPageLimit bounds a page of messages; DefaultPageLimit is used when the
// client names none.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 100
)

// ListedMessage is a message as history shows it: the row plus its attachments.
// A tombstone has Deleted set, empty content and no attachments.
type ListedMessage struct {
	ari.Message
	Attachments []ari.Attachment `json:"attachments"`
}

// PageMode says which window of a conversation a page is.
type PageMode int

const (
	PageNewest PageMode = iota // the last Limit messages
	PageBefore                 // the Limit messages just below Seq
	PageAfter                  // the Limit messages just above Seq (Seq 0: from the start)
	PageAround                 // a window centred on Seq, which it includes
)

// PageQuery picks a window of a conversation by seq. Superseded versions of
// replies are left out unless AllVersions.
type PageQuery struct {
	Mode        PageMode
	Seq         int64
	Limit       int
	AllVersions bool
}

// MessagePage is a window in ascending seq order. HasOlder / HasNewer say
// whether messages exist beyond either end.
type MessagePage struct {
	Items              []ListedMessage
	HasOlder, HasNewer bool
}

// messageColumns are selected in this order by scanMessage. Content is blanked
// for tombstones even if a row somehow kept text.
const messageColumns = `m.id, m.conversation_id, m.seq, m.role, m.sender_user_id, m.sender_agent_id,
	case when m.deleted_at is null then m.content else '' end, m.status, m.error, m.client_message_id,
	m.reply_to_id, m.created_at, m.updated_at, m.first_chunk_at, m.completed_at, m.deleted_at, ` + versionColumns

func scanMessage(row pgx.Row, extra ...any) (ListedMessage, error) {
	var m ListedMessage
	dst := []any{&m.ID, &m.ConversationID, &m.Seq, &m.Role, &m.SenderUserID, &m.SenderAgentID,
		&m.Content, &m.Status, &m.Error, &m.ClientMessageID, &m.ReplyToID, &m.CreatedAt, &m.UpdatedAt,
		&m.FirstChunkAt, &m.CompletedAt, &m.DeletedAt, &m.Version, &m.Superseded, &m.ChainHop, &m.ChainRootID}
	if err := row.Scan(append(dst, extra...)...); err != nil {
		return m, err
	}
	m.Deleted = m.DeletedAt != nil
	m.Attachments = []ari.Attachment{}
	return m, nil
}

// pageColumns add to messageColumns whether a live message has attachments,
// so the attachments query runs only for pages that have some.
const pageColumns = messageColumns + `,
	m.deleted_at is null and exists(select 1 from attachments a where a.message_id = m.id)`

// versionsColumn lists the ids of every version of a reply that has more
// than one, oldest first (NULL otherwise); only a regenerated reply or a
// superseded one has siblings, so the others cost no lookup.
const versionsColumn = `case when m.reply_to_id is not null and (m.version > 1 or m.superseded) then
	(select array_agg(v.id order by v.version, v.seq) from messages v
	 where v.reply_to_id = m.reply_to_id and v.sender_agent_id = m.sender_agent_id and v.role = 'agent') end`

// memberOnly limits a page query to a member ($1 conversation, $3 user). It
// is a one-time filter, so a page is one round trip; only an empty answer
// needs a second query to tell "not a member" from "no messages there".
const memberOnly = `exists(select 1 from conversation_members cm where cm.conversation_id = $1 and cm.user_id = $3)`

type pageRow struct {
	ListedMessage
	files bool
	newer bool // around: the row is at or above the centre
}

// pageShortBytes bounds the text of a message whose whole row a page reads
// from messages_page_short_idx (migration 00029, which repeats the number
// in both index predicates: change all three together). A btree entry holds
// at most 2,704 bytes: 1,024 bytes of content and error leave room for every
// other column (ids are at most ari.MaxIDBytes; TestLongMessagesFitEveryIndex
// stores the widest row the index takes).
const pageShortBytes = 1024

// pageStored are the stored columns messageColumns and versionsColumn read,
// all carried by messages_page_short_idx, so a page of short messages is an
// index-only scan.
const pageStored = `m.id, m.conversation_id, m.seq, m.role, m.sender_user_id, m.sender_agent_id, m.content,
	m.status, m.error, m.client_message_id, m.reply_to_id, m.created_at, m.updated_at, m.first_chunk_at,
	m.completed_at, m.deleted_at, m.version, m.superseded, m.chain_hop, m.chain_root_id`

// pageSize is the expression both page index predicates test.
const pageSize = `octet_length(m.content) + octet_length(coalesce(m.error, ''))`

// MessagesPage returns a window of the conversation for a member; a
// conversation the user is not in is ErrNotFound. Every query walks a
// (conversation_id, seq) index from a seq, never an OFFSET.
//
// A conversation's messages lie about one per heap page (conversations
// interleave in time), so reading a page of 50 from the heap touched ~51
// pages, which at a million messages are mostly outside shared_buffers (and
// at worst on disk). Each side of the window is therefore read in two parts
// that each stop at the limit, merged by seq: messages of at most
// pageShortBytes from messages_page_short_idx alone (an index-only scan, a
// few leaf pages), longer ones from the heap through messages_page_long_idx,
// which lists only them. local/bench/messages/README.md has the figures.
func (db *DB) MessagesPage(ctx context.Context, userID, conversationID string, q PageQuery) (MessagePage, error) {
	if q.Limit <= 0 || q.Limit > MaxPageLimit {
		return MessagePage{}, fmt.Errorf("store: page limit %d out of range", q.Limit)
	}
	short := strconv.Itoa(pageShortBytes)
	side := func(op, order string, newer bool) string {
		part := func(size string) string {
			return `(select ` + pageStored + ` from messages m
				where m.conversation_id = $1 and m.seq ` + op + ` $2 and ($5 or not m.superseded) and ` + pageSize + ` ` + size + `
				order by m.seq ` + order + ` limit $4)`
		}
		return `(select ` + pageColumns + `, ` + versionsColumn + `, ` + strconv.FormatBool(newer) + `
			from (` + part("<= "+short) + ` union all ` + part("> "+short) + `) m
			where ` + memberOnly + `
			order by m.seq ` + order + ` limit $4)`
	}
	var sql string
	seq := q.Seq
	switch q.Mode {
	case PageAround:
		sql = side("<", "desc", false) + " union all " + side(">=", "asc", true)
	case PageAfter:
		sql = side(">", "asc", true)
	case PageBefore:
		sql = side("<", "desc", false)
	case PageNewest:
		sql, seq = side("<=", "desc", false), int64(1)<<62
	default:
		return MessagePage{}, fmt.Errorf("store: unknown page mode %d", q.Mode)
	}
	rows, err := db.Pool.Query(ctx, sql, conversationID, seq, userID, q.Limit+1, q.AllVersions)
	if err != nil {
		return MessagePage{}, err
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pageRow, error) {
		var pr pageRow
		var versions []string
		m, err := scanMessage(r, &pr.files, &versions, &pr.newer)
		m.Versions = versions
		pr.ListedMessage = m
		return pr, err
	})
	if err != nil {
		return MessagePage{}, err
	}
	if len(all) == 0 {
		if _, err := db.MemberRole(ctx, conversationID, userID); err != nil {
			return MessagePage{}, err
		}
	}
	var p MessagePage
	inPage, hasOlder, hasNewer := window(all, func(r pageRow) bool { return r.newer }, q)
	p.HasOlder, p.HasNewer = hasOlder, hasNewer
	p.Items = make([]ListedMessage, 0, len(inPage))
	var withFiles []string
	for _, r := range inPage {
		p.Items = append(p.Items, r.ListedMessage)
		if r.files {
			withFiles = append(withFiles, r.ID)
		}
	}
	return p, db.attachTo(ctx, p.Items, withFiles)
}

// attachTo fills in the attachments of items whose ids are in ids (live
// messages known to have some).
func (db *DB) attachTo(ctx context.Context, items []ListedMessage, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	byMsg, err := db.AttachmentsForMessages(ctx, ids)
	if err != nil {
		return err
	}
	for i := range items {
		if a := byMsg[items[i].ID]; len(a) > 0 && !items[i].Deleted {
			items[i].Attachments = a
		}
	}
	return nil
}

// window cuts the rows of a page query to the page, oldest first, and tells
// whether more lie on either side. The rows are the two sides the query
// returns: older ones newest first, newer ones oldest first (newer tells
// them apart); each side holds up to one row past the limit.
func window[T any](rows []T, newer func(T) bool, q PageQuery) (page []T, hasOlder, hasNewer bool) {
	var older, younger []T // older: newest first; younger: oldest first
	for _, r := range rows {
		if newer(r) {
			younger = append(younger, r)
		} else {
			older = append(older, r)
		}
	}
	switch q.Mode {
	case PageAround:
		// Centre the window on Seq, giving the room one side cannot use to
		// the other, so a page near either end is still full.
		takeOld := min(len(older), q.Limit/2)
		takeNew := min(len(younger), q.Limit-takeOld)
		takeOld = min(len(older), q.Limit-takeNew)
		hasOlder, hasNewer = len(older) > takeOld, len(younger) > takeNew
		older, younger = older[:takeOld], younger[:takeNew]
	case PageAfter:
		// Seqs start at 1 without gaps, so seq <= Seq exists when Seq >= 1.
		hasOlder = q.Seq >= 1
		if len(younger) > q.Limit {
			younger, hasNewer = younger[:q.Limit], true
		}
	default:
		if len(older) > q.Limit {
			older, hasOlder = older[:q.Limit], true
		}
		// Before names a seq the client already has: something is newer.
		hasNewer = q.Mode == PageBefore
	}
	reverse(older)
	return append(older, younger...), hasOlder, hasNewer
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// ErrNotYours means the message is visible to the caller (a member) but was
// written by someone else, so the caller may not change it.
var ErrNotYours = errors.New("store: not the caller's message")

// DeletedMessage is what a delete changed, for events and object cleanup.
type DeletedMessage struct {
	ID, ConversationID string
	Seq                int64
	// StorageKeys of the attachments whose rows were removed.
	StorageKeys []string
	// AlreadyDeleted: the message was a tombstone before; nothing changed.
	AlreadyDeleted bool
}

// DeleteMessage turns the caller's own message into a tombstone: the row and
// its seq stay (history keeps no gaps), its content, attachments and
// reactions go. A message in a conversation the caller is not in is
// ErrNotFound; another member's message is ErrNotYours.
func (db *DB) DeleteMessage(ctx context.Context, userID, messageID string) (DeletedMessage, error) {
	var d DeletedMessage
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var sender *string
		var deletedAt *ari.Time
		// Locking the row serialises two deletes of one message, so exactly
		// one of them reports the change.
		err := tx.QueryRow(ctx, `select m.id, m.conversation_id, m.seq, m.sender_user_id, m.deleted_at
			from messages m
			join conversation_members cm on cm.conversation_id = m.conversation_id and cm.user_id = $2
			where m.id = $1 for update of m`, messageID, userID).
			Scan(&d.ID, &d.ConversationID, &d.Seq, &sender, &deletedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if sender == nil || *sender != userID {
			return ErrNotYours
		}
		if deletedAt != nil {
			d.AlreadyDeleted = true
			return nil
		}
		if _, err := tx.Exec(ctx, `update messages set content = '', deleted_at = now(), updated_at = now()
			where id = $1`, messageID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from message_reactions where message_id = $1`, messageID); err != nil {
			return err
		}
		d.StorageKeys, err = DeleteMessageAttachmentsTx(ctx, tx, messageID)
		return err
	})
	return d, err
}
