package store

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
		&m.FirstChunkAt, &m.CompletedAt, &m.DeletedAt, &m.Version, &m.Superseded}
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

// MessagesPage returns a window of the conversation for a member; a
// conversation the user is not in is ErrNotFound. Every query walks the
// (conversation_id, seq) unique index from a seq, never an OFFSET.
func (db *DB) MessagesPage(ctx context.Context, userID, conversationID string, q PageQuery) (MessagePage, error) {
	if q.Limit <= 0 || q.Limit > MaxPageLimit {
		return MessagePage{}, fmt.Errorf("store: page limit %d out of range", q.Limit)
	}
	side := func(op, order string, newer bool) string {
		return `(select ` + pageColumns + `, ` + versionsColumn + `, ` + strconv.FormatBool(newer) + ` from messages m
			where m.conversation_id = $1 and m.seq ` + op + ` $2 and ` + memberOnly + ` and ($5 or not m.superseded)
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
	var older, newer []pageRow // older: newest first; newer: oldest first
	for _, r := range all {
		if r.newer {
			newer = append(newer, r)
		} else {
			older = append(older, r)
		}
	}
	var p MessagePage
	switch q.Mode {
	case PageAround:
		// Centre the window on Seq, giving the room one side cannot use to
		// the other, so a page near either end is still full.
		takeOld := min(len(older), q.Limit/2)
		takeNew := min(len(newer), q.Limit-takeOld)
		takeOld = min(len(older), q.Limit-takeNew)
		p.HasOlder, p.HasNewer = len(older) > takeOld, len(newer) > takeNew
		older, newer = older[:takeOld], newer[:takeNew]
	case PageAfter:
		// Seqs start at 1 without gaps, so seq <= Seq exists when Seq >= 1.
		p.HasOlder = q.Seq >= 1
		if len(newer) > q.Limit {
			newer, p.HasNewer = newer[:q.Limit], true
		}
	default:
		if len(older) > q.Limit {
			older, p.HasOlder = older[:q.Limit], true
		}
		// Before names a seq the client already has: something is newer.
		p.HasNewer = q.Mode == PageBefore
	}
	reverse(older)
	p.Items = make([]ListedMessage, 0, len(older)+len(newer))
	var withFiles []string
	for _, r := range append(older, newer...) {
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

// Search snippets mark matches with these bytes inside Postgres; SearchMessages
// turns them into <mark> tags after escaping the text, so a message's own
// markup can never pose as a highlight.
const (
	markStart   = "\x02"
	markStop    = "\x03"
	headlineOpt = "StartSel=\x02, StopSel=\x03, MaxWords=35, MinWords=15"
)

// SearchQuery is a full-text search over the caller's conversations.
type SearchQuery struct {
	// Text is websearch syntax ("quoted phrases", or, -not); its last word
	// also matches as a prefix.
	Text string
	// ConversationID narrows the search to one conversation (the caller's).
	ConversationID string
	// After continues from the last hit of the previous page.
	After *SearchCursor
	Limit int
}

// SearchCursor is the position of a hit in rank order.
type SearchCursor struct {
	Rank float32 `json:"r"`
	Seq  int64   `json:"s"`
	ID   string  `json:"i"`
}

// SearchHit is a message that matched, with an HTML snippet (text escaped,
// matches wrapped in <mark>…</mark>).
type SearchHit struct {
	Message ListedMessage
	Snippet string
	Rank    float32
}

// tsqueryOf is the text search query as SQL over the parameters holding the
// whole text, the last word (letters and digits only, or ”) and the text
// before it. No input is ever spliced into SQL or tsquery syntax:
// websearch_to_tsquery accepts any string, and the prefix term is a quoted
// literal of a sanitised word. A hit matches the whole text as typed, or the
// rest plus a word starting with the last word.
func tsqueryOf(text, last, rest string) string {
	return `case when ` + last + ` = '' then websearch_to_tsquery('simple', ` + text + `)
	else websearch_to_tsquery('simple', ` + text + `) ||
		(websearch_to_tsquery('simple', ` + rest + `) && to_tsquery('simple', quote_literal(` + last + `) || ':*')) end`
}

// tsquery is tsqueryOf over $2, $3, $4 as a one-time subquery, computed once
// per statement however many rows it is tested against.
var tsquery = `(select ` + tsqueryOf("$2", "$3", "$4") + `)`

// rareMatches is the estimated number of matching messages, table-wide, up to
// which search reads the GIN index (cost grows with the matches). Above it,
// the caller's own history is read on (conversation_id, seq) and tested row
// by row (cost grows with the caller's history, not the table): a common
// word's posting list of hundreds of thousands of rows is slower to turn into
// a bitmap than a user's few thousand messages are to test.
var rareMatches float64 = 5000

// searchScope is the caller's conversations ($1), or the one in $5.
const searchScope = `m.conversation_id = any(array(select cm.conversation_id from conversation_members cm
		where cm.user_id = $1 and ($5::text is null or cm.conversation_id = $5)))`

// searchAfter continues after the cursor ($6 rank, $7 seq, $8 id).
const searchAfter = `($6::real is null or (ts_rank(m.search, ` + "%s" + `), m.seq, m.id) < ($6::real, $7::bigint, $8::text))`

// SearchMessages finds live messages matching q in conversations the caller
// is a member of, best rank first, then newest. more reports whether another
// page follows. An unknown or foreign ConversationID is ErrNotFound.
func (db *DB) SearchMessages(ctx context.Context, userID string, q SearchQuery) (hits []SearchHit, more bool, err error) {
	if q.Limit <= 0 || q.Limit > MaxPageLimit {
		return nil, false, fmt.Errorf("store: search limit %d out of range", q.Limit)
	}
	if q.ConversationID != "" {
		if _, err := db.MemberRole(ctx, q.ConversationID, userID); err != nil {
			return nil, false, err
		}
	}
	rest, last := splitPrefix(q.Text)
	est, err := db.estimateMatches(ctx, q.Text, last, rest)
	if err != nil {
		return nil, false, err
	}
	var cRank *float32
	var cSeq *int64
	var cID *string
	if q.After != nil {
		cRank, cSeq, cID = &q.After.Rank, &q.After.Seq, &q.After.ID
	}
	var conv *string
	if q.ConversationID != "" {
		conv = &q.ConversationID
	}
	var ranked string
	if est <= rareMatches {
		ranked = `select m.id, ts_rank(m.search, ` + tsquery + `) as rank
			from messages m
			where ` + searchScope + ` and m.deleted_at is null and m.search @@ ` + tsquery + `
				and ` + fmt.Sprintf(searchAfter, tsquery) + `
			order by rank desc, m.seq desc, m.id desc
			limit $10`
	} else {
		// ts_match_vq is the function behind @@. Called by name it is no
		// index condition, so the planner cannot trade this scan of the
		// caller's history for the GIN index, the slow plan for common
		// terms (measured: half the time of a MATERIALIZED CTE fence).
		ranked = `select m.id, ts_rank(m.search, ` + tsquery + `) as rank
			from messages m
			where ` + searchScope + ` and m.deleted_at is null and ts_match_vq(m.search, ` + tsquery + `)
				and ` + fmt.Sprintf(searchAfter, tsquery) + `
			order by rank desc, m.seq desc, m.id desc
			limit $10`
	}
	rows, err := db.Pool.Query(ctx, `select `+pageColumns+`, h.rank,
			ts_headline('simple', translate(m.content, E'\x02\x03', ''), `+tsquery+`, $9)
		from (`+ranked+`) h join messages m on m.id = h.id
		order by h.rank desc, m.seq desc, m.id desc`,
		userID, q.Text, last, rest, conv, cRank, cSeq, cID, headlineOpt, q.Limit+1)
	if err != nil {
		return nil, false, err
	}
	var withFiles []string
	hits, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SearchHit, error) {
		var h SearchHit
		var headline string
		var files bool
		m, err := scanMessage(r, &files, &h.Rank, &headline)
		h.Message, h.Snippet = m, highlight(headline)
		if files {
			withFiles = append(withFiles, m.ID)
		}
		return h, err
	})
	if err != nil {
		return nil, false, err
	}
	if len(hits) > q.Limit {
		hits, more = hits[:q.Limit], true
	}
	items := make([]ListedMessage, len(hits))
	for i := range hits {
		items[i] = hits[i].Message
	}
	if err := db.attachTo(ctx, items, withFiles); err != nil {
		return nil, false, err
	}
	for i := range hits {
		hits[i].Message = items[i]
	}
	return hits, more, nil
}

// estimateMatches asks the planner how many live messages, table-wide, match
// the query, from the search column's statistics (most common lexemes and
// their frequencies); nothing is read but the plan. The simple protocol
// sends the values as literals, so the planner estimates for these words and
// not for an unknown parameter.
func (db *DB) estimateMatches(ctx context.Context, text, last, rest string) (float64, error) {
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	err := db.Pool.QueryRow(ctx, `explain (format json) select 1 from messages m
		where m.deleted_at is null and m.search @@ (`+tsqueryOf("$1", "$2", "$3")+`)`,
		pgx.QueryExecModeSimpleProtocol, text, last, rest).Scan(&plan)
	if err != nil {
		return 0, err
	}
	if len(plan) == 0 {
		return 0, errors.New("store: no plan")
	}
	return plan[0].Plan.Rows, nil
}

// splitPrefix separates the word being typed at the end of a query (letters,
// marks and digits only) from the rest. There is no prefix when the last
// word is negated (-word), inside an open quote, or absurdly long.
func splitPrefix(q string) (rest, last string) {
	q = strings.TrimRightFunc(q, unicode.IsSpace)
	i := len(q)
	for i > 0 {
		r, size := utf8.DecodeLastRuneInString(q[:i])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r) {
			break
		}
		i -= size
	}
	rest, last = q[:i], q[i:]
	switch {
	case last == "", len(last) > 64:
		return q, ""
	case i > 0 && q[i-1] == '-' && (i == 1 || unicode.IsSpace(rune(q[i-2]))):
		return q, ""
	case strings.Count(rest, `"`)%2 == 1:
		return q, ""
	}
	return rest, last
}

// highlight escapes a headline for HTML and turns the match markers into
// <mark> tags.
func highlight(h string) string {
	var b strings.Builder
	open := false
	for len(h) > 0 {
		i := strings.IndexAny(h, markStart+markStop)
		if i < 0 {
			b.WriteString(html.EscapeString(h))
			break
		}
		b.WriteString(html.EscapeString(h[:i]))
		switch {
		case h[i] == markStart[0] && !open:
			b.WriteString("<mark>")
			open = true
		case h[i] == markStop[0] && open:
			b.WriteString("</mark>")
			open = false
		}
		h = h[i+1:]
	}
	if open {
		b.WriteString("</mark>")
	}
	return b.String()
}
