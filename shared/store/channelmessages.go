package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/jackc/pgx/v5"
)

// Channel messages: sends with gap-free per-channel seqs (the channel row's
// last_seq under its lock; UNIQUE(channel_id, seq)), idempotent by the
// sender's clientMessageId (a unique index), history by seq, search,
// deletes that leave tombstones, reactions. Every read is scoped to members
// of the channel's community.

// ListedChannelMessage is a channel message as history shows it, with its
// attachments; a tombstone has Deleted set, empty content and none.
type ListedChannelMessage struct {
	ari.ChannelMessage
	Attachments []ari.Attachment `json:"attachments"`
}

const channelMessageColumns = `m.id, m.channel_id, m.seq, m.sender_user_id, m.sender_agent_id,
	case when m.deleted_at is null then m.content else '' end, m.client_message_id, m.created_at, m.updated_at,
	m.deleted_at, m.deleted_at is null and exists(select 1 from attachments a where a.channel_message_id = m.id)`

func scanChannelMessage(row pgx.Row, extra ...any) (ListedChannelMessage, bool, error) {
	var m ListedChannelMessage
	var files bool
	dst := []any{&m.ID, &m.ChannelID, &m.Seq, &m.SenderUserID, &m.SenderAgentID, &m.Content, &m.ClientMessageID,
		&m.CreatedAt, &m.UpdatedAt, &m.DeletedAt, &files}
	err := row.Scan(append(dst, extra...)...)
	m.Deleted = m.DeletedAt != nil
	m.Attachments = []ari.Attachment{}
	return m, files, err
}

// NewChannelMessage is a send from a member.
type NewChannelMessage struct {
	UserID, ChannelID, Content, ClientMessageID string
	Attachments                                 []string
	// Deployment, when set, is the relay deployment (REDIS_PREFIX) that
	// runs the replies of the agents the message @mentions (channelreplies.go);
	// empty: the message starts no reply.
	Deployment string
}

// ChannelSend is the stored message; Created is false when the
// clientMessageId had been stored before (nothing new was written).
// Mentioned are the members the new message @mentions (channelmentions.go).
type ChannelSend struct {
	Message   ListedChannelMessage
	Created   bool
	Mentioned []string
	// Replies are the agents' replies the message started (pending, in
	// queue order); none for a retry.
	Replies []ari.ChannelReply
}

// SendChannelMessage stores a member's message at the channel's next seq.
// The member's row is key-share locked for the transaction, so a kick or a
// ban either comes after the message or refuses it. A retry with the same
// clientMessageId answers the stored message, in any channel the sender may
// still read (ErrClientIDInUse when it is another channel).
func (db *DB) SendChannelMessage(ctx context.Context, in NewChannelMessage) (ChannelSend, error) {
	if _, err := channelAccess(ctx, db.Pool, in.UserID, in.ChannelID, false); err != nil {
		return ChannelSend{}, err
	}
	if m, err := db.channelMessageByClientID(ctx, in.UserID, in.ClientMessageID); err == nil {
		if m.ChannelID != in.ChannelID {
			return ChannelSend{}, ErrClientIDInUse
		}
		return ChannelSend{Message: m}, nil
	} else if !errors.Is(err, ErrNotFound) {
		return ChannelSend{}, err
	}
	var id string
	var mentioned []string
	var replies []ari.ChannelReply
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var one int
		err := tx.QueryRow(ctx, `select 1 from channels ch
			join community_members cm on cm.community_id = ch.community_id and cm.user_id = $2
			where ch.id = $1 for key share of cm`, in.ChannelID, in.UserID).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		var seq int64
		if err := tx.QueryRow(ctx, `update channels set last_seq = last_seq + 1 where id = $1 returning last_seq`,
			in.ChannelID).Scan(&seq); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `insert into channel_messages (channel_id, seq, sender_user_id, content, client_message_id)
			values ($1, $2, $3, $4, $5) returning id`, in.ChannelID, seq, in.UserID, in.Content, in.ClientMessageID).Scan(&id); err != nil {
			return err
		}
		if mentioned, err = recordMentions(ctx, tx, in.UserID, in.ChannelID, seq, in.Content); err != nil {
			return err
		}
		if _, err := ClaimChannelAttachments(ctx, tx, in.UserID, id, in.Attachments); err != nil {
			return err
		}
		if in.Deployment != "" && strings.Contains(in.Content, "@") {
			replies, err = mentionReplies(ctx, tx, in.ChannelID, id, in.Content, "", in.Deployment, nil, 0)
		}
		return err
	})
	if IsUniqueViolation(err, "channel_messages_client_id_uq") {
		m, err := db.channelMessageByClientID(ctx, in.UserID, in.ClientMessageID)
		if err == nil && m.ChannelID != in.ChannelID {
			err = ErrClientIDInUse
		}
		return ChannelSend{Message: m}, err
	}
	if err != nil {
		return ChannelSend{}, err
	}
	m, err := db.channelMessage(ctx, `m.id = $1`, id)
	return ChannelSend{Message: m, Created: true, Mentioned: mentioned, Replies: replies}, err
}

func (db *DB) channelMessageByClientID(ctx context.Context, userID, clientMessageID string) (ListedChannelMessage, error) {
	m, err := db.channelMessage(ctx, `m.sender_user_id = $1 and m.client_message_id = $2`, userID, clientMessageID)
	if err != nil {
		return m, err
	}
	// Only while the sender may still read that channel.
	if _, err := channelAccess(ctx, db.Pool, userID, m.ChannelID, false); err != nil {
		return ListedChannelMessage{}, ErrNotFound
	}
	return m, nil
}

// channelMessage reads one message (where is a condition on m) with its
// attachments; none is ErrNotFound. Callers check access.
func (db *DB) channelMessage(ctx context.Context, where string, args ...any) (ListedChannelMessage, error) {
	m, files, err := scanChannelMessage(db.Pool.QueryRow(ctx, `select `+channelMessageColumns+` from channel_messages m where `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return m, ErrNotFound
	}
	if err != nil || !files {
		return m, err
	}
	items := []ListedChannelMessage{m}
	err = db.attachToChannel(ctx, items, []string{m.ID})
	return items[0], err
}

// attachToChannel fills in the attachments of the items whose ids are in ids.
func (db *DB) attachToChannel(ctx context.Context, items []ListedChannelMessage, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	rows, err := db.Pool.Query(ctx, `select `+attachmentCols+` from attachments
		where channel_message_id = any($1) order by created_at, id`, ids)
	if err != nil {
		return err
	}
	list, err := collectAttachments(rows)
	if err != nil {
		return err
	}
	by := map[string][]ari.Attachment{}
	for _, a := range list {
		by[*a.ChannelMessageID] = append(by[*a.ChannelMessageID], a)
	}
	for i := range items {
		if a := by[items[i].ID]; len(a) > 0 && !items[i].Deleted {
			items[i].Attachments = a
		}
	}
	return nil
}

// ChannelMessagePage is a window of a channel in ascending seq order.
type ChannelMessagePage struct {
	Items              []ListedChannelMessage
	HasOlder, HasNewer bool
}

// ChannelMessagesPage returns a window of a channel for a member of its
// community, by the same modes as MessagesPage, walking the (channel_id,
// seq) index from a seq.
func (db *DB) ChannelMessagesPage(ctx context.Context, userID, channelID string, q PageQuery) (ChannelMessagePage, error) {
	if q.Limit <= 0 || q.Limit > MaxPageLimit {
		return ChannelMessagePage{}, fmt.Errorf("store: page limit %d out of range", q.Limit)
	}
	if _, err := channelAccess(ctx, db.Pool, userID, channelID, false); err != nil {
		return ChannelMessagePage{}, err
	}
	side := func(op, order string, newer bool) string {
		return `(select ` + channelMessageColumns + `, ` + strconv.FormatBool(newer) + ` from channel_messages m
			where m.channel_id = $1 and m.seq ` + op + ` $2 order by m.seq ` + order + ` limit $3)`
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
		return ChannelMessagePage{}, fmt.Errorf("store: unknown page mode %d", q.Mode)
	}
	rows, err := db.Pool.Query(ctx, sql, channelID, seq, q.Limit+1)
	if err != nil {
		return ChannelMessagePage{}, err
	}
	type pageRow struct {
		m            ListedChannelMessage
		files, newer bool
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pageRow, error) {
		var pr pageRow
		var err error
		pr.m, pr.files, err = scanChannelMessage(r, &pr.newer)
		return pr, err
	})
	if err != nil {
		return ChannelMessagePage{}, err
	}
	var p ChannelMessagePage
	inPage, hasOlder, hasNewer := window(all, func(r pageRow) bool { return r.newer }, q)
	p.HasOlder, p.HasNewer = hasOlder, hasNewer
	p.Items = make([]ListedChannelMessage, 0, len(inPage))
	var withFiles []string
	for _, r := range inPage {
		p.Items = append(p.Items, r.m)
		if r.files {
			withFiles = append(withFiles, r.m.ID)
		}
	}
	return p, db.attachToChannel(ctx, p.Items, withFiles)
}

// ChannelSearchQuery is a full-text search over a community's channels
// (or one of them) for a member.
type ChannelSearchQuery struct {
	Text        string
	CommunityID string
	ChannelID   string // optional: one channel of the community
	After       *SearchCursor
	Limit       int
}

// ChannelSearchHit is a message that matched, with an HTML snippet.
type ChannelSearchHit struct {
	Message ListedChannelMessage
	Snippet string
	Rank    float32
}

// SearchChannelMessages finds live messages matching q in the community's
// channels, best rank first, then newest; members only. A channel of
// another community is ErrNotFound.
func (db *DB) SearchChannelMessages(ctx context.Context, userID string, q ChannelSearchQuery) ([]ChannelSearchHit, bool, error) {
	if q.Limit <= 0 || q.Limit > MaxPageLimit {
		return nil, false, fmt.Errorf("store: search limit %d out of range", q.Limit)
	}
	if _, err := member(ctx, db.Pool, userID, q.CommunityID, false); err != nil {
		return nil, false, err
	}
	var channel *string
	if q.ChannelID != "" {
		var ok bool
		if err := db.Pool.QueryRow(ctx, `select exists(select 1 from channels where id = $1 and community_id = $2)`,
			q.ChannelID, q.CommunityID).Scan(&ok); err != nil {
			return nil, false, err
		}
		if !ok {
			return nil, false, ari.NotFound("channel")
		}
		channel = &q.ChannelID
	}
	var cRank *float32
	var cSeq *int64
	var cID *string
	if q.After != nil {
		cRank, cSeq, cID = &q.After.Rank, &q.After.Seq, &q.After.ID
	}
	rest, last := splitPrefix(q.Text)
	tsq := `(select ` + tsqueryOf("$2", "$3", "$4") + `)`
	rows, err := db.Pool.Query(ctx, `with h as (
			select m.id, ts_rank(m.search, `+tsq+`) as rank from channel_messages m
			where m.channel_id = any(array(select id from channels where community_id = $1 and ($5::text is null or id = $5)))
				and m.deleted_at is null and m.search @@ `+tsq+`
				and ($6::real is null or (ts_rank(m.search, `+tsq+`), m.seq, m.id) < ($6::real, $7::bigint, $8::text))
			order by rank desc, m.seq desc, m.id desc limit $10)
		select `+channelMessageColumns+`, h.rank, ts_headline('simple', translate(m.content, E'\x02\x03', ''), `+tsq+`, $9)
		from h join channel_messages m on m.id = h.id
		order by h.rank desc, m.seq desc, m.id desc`,
		q.CommunityID, q.Text, last, rest, channel, cRank, cSeq, cID, headlineOpt, q.Limit+1)
	if err != nil {
		return nil, false, err
	}
	var withFiles []string
	hits, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChannelSearchHit, error) {
		var h ChannelSearchHit
		var headline string
		m, files, err := scanChannelMessage(r, &h.Rank, &headline)
		h.Message, h.Snippet = m, highlight(headline)
		if files {
			withFiles = append(withFiles, m.ID)
		}
		return h, err
	})
	if err != nil {
		return nil, false, err
	}
	more := false
	if len(hits) > q.Limit {
		hits, more = hits[:q.Limit], true
	}
	items := make([]ListedChannelMessage, len(hits))
	for i := range hits {
		items[i] = hits[i].Message
	}
	if err := db.attachToChannel(ctx, items, withFiles); err != nil {
		return nil, false, err
	}
	for i := range hits {
		hits[i].Message = items[i]
	}
	return hits, more, nil
}

// DeletedChannelMessage is what a delete changed.
type DeletedChannelMessage struct {
	ID, ChannelID string
	Seq           int64
	StorageKeys   []string
}

// DeleteChannelMessage turns a message into a tombstone (its seq stays; its
// content, attachments, reactions and mentions go). The sender may delete their own,
// owners and admins any; another member's message is ErrNotYours. A message
// not in the channel is ErrNotFound.
func (db *DB) DeleteChannelMessage(ctx context.Context, userID, channelID, messageID string) (DeletedChannelMessage, error) {
	var d DeletedChannelMessage
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		a, err := channelAccess(ctx, tx, userID, channelID, false)
		if err != nil {
			return err
		}
		var sender *string
		var deleted bool
		err = tx.QueryRow(ctx, `select id, channel_id, seq, sender_user_id, deleted_at is not null from channel_messages
			where id = $1 and channel_id = $2 for update`, messageID, channelID).Scan(&d.ID, &d.ChannelID, &d.Seq, &sender, &deleted)
		if errors.Is(err, pgx.ErrNoRows) {
			return ari.NotFound("message")
		}
		if err != nil {
			return err
		}
		if (sender == nil || *sender != userID) && !IsCommunityAdmin(a.Role) {
			return ErrNotYours
		}
		if deleted {
			return nil
		}
		if _, err := tx.Exec(ctx, `update channel_messages set content = '', deleted_at = now(), deleted_by = $2, updated_at = now()
			where id = $1`, messageID, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from channel_message_reactions where message_id = $1`, messageID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `delete from channel_mentions where channel_id = $1 and seq = $2`, channelID, d.Seq); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `delete from attachments where channel_message_id = $1 returning storage_key`, messageID)
		if err != nil {
			return err
		}
		d.StorageKeys, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return d, err
}

// channelMessageFor locks a message of the channel for share (a delete
// waits for us or we for it) after checking the caller's access.
func channelMessageFor(ctx context.Context, tx pgx.Tx, userID, channelID, messageID string) (deleted bool, err error) {
	if _, err := channelAccess(ctx, tx, userID, channelID, false); err != nil {
		return false, err
	}
	err = tx.QueryRow(ctx, `select deleted_at is not null from channel_messages where id = $1 and channel_id = $2 for share`,
		messageID, channelID).Scan(&deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, ari.NotFound("message")
	}
	return deleted, err
}

// AddChannelReaction records the caller's emoji on a message; adding it
// again changes nothing (changed false).
func (db *DB) AddChannelReaction(ctx context.Context, userID, channelID, messageID, emoji string) (changed bool, count int64, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		deleted, err := channelMessageFor(ctx, tx, userID, channelID, messageID)
		if err != nil {
			return err
		}
		if deleted {
			return ErrMessageDeleted
		}
		tag, err := tx.Exec(ctx, `insert into channel_message_reactions (message_id, user_id, emoji)
			select $1, $2, $3 where (select count(*) from channel_message_reactions where message_id = $1 and user_id = $2) < $4
			on conflict do nothing`, messageID, userID, emoji, ari.MaxReactionsPerUser)
		if err != nil {
			return err
		}
		changed = tag.RowsAffected() == 1
		if !changed {
			var mine bool
			if err := tx.QueryRow(ctx, `select exists(select 1 from channel_message_reactions
				where message_id = $1 and user_id = $2 and emoji = $3)`, messageID, userID, emoji).Scan(&mine); err != nil {
				return err
			}
			if !mine {
				return ErrTooManyReactions
			}
		}
		return tx.QueryRow(ctx, `select count(*) from channel_message_reactions where message_id = $1 and emoji = $2`,
			messageID, emoji).Scan(&count)
	})
	return changed, count, err
}

// RemoveChannelReaction takes the caller's emoji off a message; changed is
// false when it was not there.
func (db *DB) RemoveChannelReaction(ctx context.Context, userID, channelID, messageID, emoji string) (changed bool, err error) {
	err = db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := channelMessageFor(ctx, tx, userID, channelID, messageID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `delete from channel_message_reactions where message_id = $1 and user_id = $2 and emoji = $3`,
			messageID, userID, emoji)
		changed = tag.RowsAffected() > 0
		return err
	})
	return changed, err
}

// ChannelReactions counts a message's reactions per emoji, in the order each
// was first used, and says which are the caller's.
func (db *DB) ChannelReactions(ctx context.Context, userID, channelID, messageID string) ([]ari.ReactionCount, error) {
	var out []ari.ReactionCount
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		if _, err := channelMessageFor(ctx, tx, userID, channelID, messageID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `select emoji, count(*), bool_or(user_id = $2) from channel_message_reactions
			where message_id = $1 group by emoji order by min(created_at), emoji`, messageID, userID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ari.ReactionCount, error) {
			var c ari.ReactionCount
			err := r.Scan(&c.Emoji, &c.Count, &c.Me)
			return c, err
		})
		return err
	})
	return out, err
}
