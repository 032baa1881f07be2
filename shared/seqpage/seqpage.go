// Package seqpage reads and answers the one history pagination of
// conversations and channels: exactly one of before, after, around or an
// opaque cursor (or none: the newest page), and limit; pages carry opaque
// prev/next cursors that continue by seq. Never an OFFSET.
package seqpage

import (
	"net/http"
	"strconv"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// cursor is what the opaque cursors of a history page carry.
type cursor struct {
	Dir string `json:"d"` // "before" or "after"
	Seq int64  `json:"s"`
}

// Parse reads exactly one of before, after, around or cursor (or none: the
// newest page), limit and versions (allowVersions: the history has reply
// versions, so versions=all is meaningful).
func Parse(r *http.Request, allowVersions bool) (store.PageQuery, error) {
	v := r.URL.Query()
	q := store.PageQuery{Mode: store.PageNewest, Limit: store.DefaultPageLimit}
	fields := map[string]string{}
	if s := v.Get("limit"); v.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > store.MaxPageLimit {
			fields["limit"] = "must be an integer from 1 to " + strconv.Itoa(store.MaxPageLimit)
		}
		q.Limit = n
	}
	var named []string
	for _, name := range []string{"before", "after", "around", "cursor"} {
		if v.Has(name) {
			named = append(named, name)
		}
	}
	if len(named) > 1 {
		fields[named[1]] = "use only one of before, after, around and cursor"
	} else if len(named) == 1 {
		name := named[0]
		raw := v.Get(name)
		if name == "cursor" {
			var pc cursor
			if err := httpx.DecodeCursor(raw, &pc); err != nil || (pc.Dir != "before" && pc.Dir != "after") || pc.Seq < 0 {
				fields["cursor"] = "is not a valid cursor"
			}
			name, raw = pc.Dir, strconv.FormatInt(pc.Seq, 10)
		}
		seq, err := strconv.ParseInt(raw, 10, 64)
		least := int64(1)
		if name == "after" {
			least = 0 // after=0 reads from the very first message
		}
		if fields["cursor"] == "" && (err != nil || seq < least || seq > 1<<53) {
			fields[named[0]] = "must be a message seq (an integer of at least " + strconv.FormatInt(least, 10) + ")"
		}
		q.Seq = seq
		q.Mode = map[string]store.PageMode{"before": store.PageBefore, "after": store.PageAfter, "around": store.PageAround}[name]
	}
	// versions=all also lists the superseded versions of regenerated
	// replies (history shows the newest of each by default).
	if allowVersions && v.Has("versions") {
		if v.Get("versions") != "all" {
			fields["versions"] = "must be all (or absent: the newest version of each reply)"
		}
		q.AllVersions = true
	}
	if len(fields) > 0 {
		return q, ari.Invalid(fields)
	}
	return q, nil
}

// Page is the answer for a window of items in ascending seq order, asked
// for by q: its cursors continue from either end (hasOlder, hasNewer: more
// exists beyond it).
func Page[T any](items []T, seqOf func(T) int64, q store.PageQuery, hasOlder, hasNewer bool) httpx.Page[T] {
	out := httpx.NewPage(items)
	older, newer := q.Seq, q.Seq
	if n := len(items); n > 0 {
		older, newer = seqOf(items[0]), seqOf(items[n-1])
	} else if q.Mode == store.PageAfter {
		older = q.Seq + 1
	}
	if hasOlder {
		out.PrevCursor = httpx.CursorPtr(cursor{Dir: "before", Seq: older})
	}
	if hasNewer {
		if len(items) == 0 && q.Mode == store.PageBefore {
			newer = q.Seq - 1
		}
		out.NextCursor = httpx.CursorPtr(cursor{Dir: "after", Seq: newer})
	}
	return out
}
