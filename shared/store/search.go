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

	"github.com/jackc/pgx/v5"
)

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

// ginMatchCost is what reading one of the caller's matches through the
// scoped GIN index costs (an index entry, the row's heap page, the match
// rechecked), in history rows tested (an index-only entry each). Search
// reads messages_scoped_search_idx (migration 00033) when the matches it
// expects in the caller's history, times this, are at most that history;
// else it tests the history row by row (historySearch). Both costs follow
// the caller's history, not the table, so the choice is the same at any
// table size: expected matches are the history times the share of live
// messages that contain any word of the query (the planner's estimate over
// the table's size), so the rule is share × ginMatchCost ≤ 1.
// local/bench/messages/README.md has the figures.
var ginMatchCost float64 = 10

// ginSurely is the planner's estimate of matches table-wide, times
// ginMatchCost, below which the scoped index is taken without asking the
// table's size (a round trip): whatever the caller's share, it is cheap.
const ginSurely = 100

// maxScopedConversations bounds the conversations one scoped index search
// keys its query by (each is a copy of the query's terms): a caller in more
// is searched through the history, unless the estimate alone took the index
// (ginSurely), which asks no count.
const maxScopedConversations = 1000

// shortSearchBytes is the size of text up to which a message is searched
// from messages_search_short_idx alone (migration 00018, which repeats the
// number in both index predicates: change all three together).
const shortSearchBytes = 256

// historySearch tests the caller's history row by row, for terms too common
// for the GIN index. It reads it in two parts that each end at the page's
// limit: short messages from the covering index messages_search_short_idx
// (an index-only scan: the same few hundred index pages at any table size,
// no heap), long ones from messages_search_long_idx (the heap for those
// rows only), then merges them. ts_match_vq is the function behind @@:
// called by name it is no index condition, so the planner cannot trade
// these scans for the GIN index, the slow plan for common terms.
var historySearch = func() string {
	short := strconv.Itoa(shortSearchBytes)
	return mergeRanked(historyPart("<= "+short), historyPart("> "+short))
}()

// historyPart tests the caller's messages whose text size is size (an
// octet_length comparison naming one of the history indexes' predicates).
func historyPart(size string) string {
	return rankedPart(searchScope + ` and octet_length(m.content) ` + size)
}

// rankedPart is the live, newest-version messages that filter keeps and the
// query matches, after the cursor, best first, cut at the page's limit.
func rankedPart(filter string) string {
	return `(select m.id, m.seq, ts_rank(m.search, ` + tsquery + `) as rank
			from messages m
			where ` + filter + ` and m.deleted_at is null and not m.superseded
				and ts_match_vq(m.search, ` + tsquery + `)
				and ` + fmt.Sprintf(searchAfter, tsquery) + `
			order by rank desc, m.seq desc, m.id desc
			limit $10)`
}

// mergeRanked merges two ranked parts into the page's hits.
func mergeRanked(a, b string) string {
	return `select p.id, p.rank from (` + a + ` union all ` + b + `) p
		order by p.rank desc, p.seq desc, p.id desc
		limit $10`
}

// scopeArray is the caller's conversations ($1), or the one in $5.
const scopeArray = `array(select cm.conversation_id from conversation_members cm
		where cm.user_id = $1 and ($5::text is null or cm.conversation_id = $5))`

// searchScope keeps the rows of the caller's conversations.
const searchScope = `m.conversation_id = any(` + scopeArray + `)`

// scopedSearchBytes is the size of text up to which a message is listed in
// messages_scoped_search_idx (migration 00033, which repeats the number in
// both index predicates: change all three together). Longer ones are in
// messages_search_huge_idx.
const scopedSearchBytes = 65536

// scopedSearch reads the caller's matches from messages_scoped_search_idx:
// the query keyed by each of the caller's conversations (computed once, a
// one-time subquery). The conversation is checked with array_position and
// the match with ts_match_vq, which are no index conditions: the planner
// has only this index to read, not the table-wide history of the
// conversations ANDed with it (the cost this index exists to avoid). The
// two checks are what make the rows right: the key only narrows. Since
// migration 00035 the keyed vector has no positions and the keyed query is
// what every match must contain (its querytree, phrases as ANDs), and each
// key names at most a lexeme's first 255 characters (00034: a keyed word of
// near 2,046 bytes stays within a lexeme's limit); all of that only adds
// candidates, which the real match drops. Messages
// over scopedSearchBytes are not in that index; they come from
// messages_search_huge_idx, tested row by row, and the two are merged.
var scopedSearch = func() string {
	size := strconv.Itoa(scopedSearchBytes)
	return mergeRanked(rankedPart(`messages_scoped_search(m.conversation_id, m.search) @@ (select messages_scoped_query(`+scopeArray+`, `+tsquery+`))
				and octet_length(m.content) <= `+size+`
				and array_position(`+scopeArray+`, m.conversation_id) is not null`), historyPart("> "+size))
}()

// searchAfter continues after the cursor ($6 rank, $7 seq, $8 id).
const searchAfter = `($6::real is null or (ts_rank(m.search, ` + "%s" + `), m.seq, m.id) < ($6::real, $7::bigint, $8::text))`

// SearchMessages finds live messages matching q in conversations the caller
// is a member of, best rank first, then newest. A regenerated answer is
// found once, as its newest version (superseded versions are left out, as
// history leaves them out by default), with its versions listed. more reports whether another
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
	useGIN := est*ginMatchCost <= ginSurely
	if !useGIN {
		live, conversations, err := db.searchScale(ctx, userID, q.ConversationID)
		if err != nil {
			return nil, false, err
		}
		useGIN = conversations <= maxScopedConversations && (live <= 0 || est*ginMatchCost <= live)
	}
	ranked := historySearch
	if useGIN {
		ranked = scopedSearch
	}
	rows, err := db.Pool.Query(ctx, `select `+pageColumns+`, `+versionsColumn+`, h.rank,
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
		var versions []string
		m, err := scanMessage(r, &files, &versions, &h.Rank, &headline)
		m.Versions = versions
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

// estimateMatches asks the planner how many live messages, table-wide, the
// GIN index has to list for the query: those containing any of its words
// (the last one also as a prefix), from the search column's statistics;
// nothing is read but the plan. Not the messages that match: for "a b" GIN
// reads the posting lists of a and of b whatever their intersection, and a
// prefix's whole list (measured at 1M: two words with 41 matches estimated
// took longer through GIN than through a 4,000-message history). A query no
// index can answer (only negations: "-word", "a or -b"; querytree says T)
// would read the whole index: then the estimate is every live message, so
// the history is searched. The lexemes come quoted from plainto_tsquery's
// output, so no input can break the tsquery syntax. The simple protocol
// sends the values as literals, so the planner estimates for these words
// (and folds the querytree test) rather than for unknown parameters.
func (db *DB) estimateMatches(ctx context.Context, text, last, rest string) (float64, error) {
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		} `json:"Plan"`
	}
	err := db.Pool.QueryRow(ctx, `explain (format json) select 1 from messages m
		where m.deleted_at is null and (querytree(`+tsqueryOf("$1", "$2", "$3")+`) = 'T' or m.search @@ (
			replace(plainto_tsquery('simple', $1)::text, ' & ', ' | ')::tsquery ||
			case when $2 = '' then ''::tsquery else to_tsquery('simple', quote_literal($2) || ':*') end))`,
		pgx.QueryExecModeSimpleProtocol, text, last, rest).Scan(&plan)
	if err != nil {
		return 0, err
	}
	if len(plan) == 0 {
		return 0, errors.New("store: no plan")
	}
	return plan[0].Plan.Rows, nil
}

// searchScale is what the choice of plan weighs the estimate against: the
// table's live messages (the planner's count, from the last analyze; below
// zero when never analyzed) and the number of conversations searched.
func (db *DB) searchScale(ctx context.Context, userID, conversationID string) (live float64, conversations int, err error) {
	err = db.Pool.QueryRow(ctx, `select (select reltuples from pg_class where oid = 'messages'::regclass)::float8,
			(select count(*) from conversation_members cm where cm.user_id = $1 and ($2 = '' or cm.conversation_id = $2))::int`,
		userID, conversationID).Scan(&live, &conversations)
	return live, conversations, err
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
