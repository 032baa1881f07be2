package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// TestPagesMergeShortAndLongMessages checks every kind of page against the
// conversation read whole, in a history that mixes the two parts a page is
// read from (migration 00029): rows of at most 1,024 bytes of content and
// error (messages_page_short_idx) and longer ones (messages_page_long_idx),
// on both sides of the bound, with tombstones and superseded versions. Each
// window must be the same rows, in order, with the same text, as one walk of
// the conversation by seq gives.
func TestPagesMergeShortAndLongMessages(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	u := testenv.NewUser(t, db, "pager")
	conv := apitest.Conversation(t, db, "direct", u.ID)
	apitest.PostMany(t, db, conv, u.ID, 300)
	for _, q := range []string{
		`update messages set content = repeat('long ' || seq || ' ', 300) where conversation_id = $1 and seq % 3 = 0`,
		`update messages set content = rpad('', 1024, 'a') where conversation_id = $1 and seq % 10 = 1`,
		`update messages set content = rpad('', 1025, 'b') where conversation_id = $1 and seq % 10 = 2`,
		`update messages set error = repeat('e', 1100) where conversation_id = $1 and seq % 7 = 0`,
		`update messages set content = '', deleted_at = now() where conversation_id = $1 and seq % 13 = 0`,
		`update messages set superseded = true where conversation_id = $1 and seq % 11 = 0`,
	} {
		if _, err := db.Pool.Exec(ctx, q, conv); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `vacuum analyze messages`); err != nil {
		t.Fatal(err)
	}

	type row struct {
		seq        int64
		text       string
		superseded bool
	}
	rows, err := db.Pool.Query(ctx, `select seq, content, superseded from messages where conversation_id = $1 order by seq`, conv)
	if err != nil {
		t.Fatal(err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.text, &r.superseded); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	for _, versions := range []bool{false, true} {
		var seen []row
		for _, r := range all {
			if versions || !r.superseded {
				seen = append(seen, r)
			}
		}
		// want is the window of seen the page should be: before and after
		// are the Limit nearest on their side, around centres on Seq.
		want := func(q store.PageQuery) []row {
			var older, newer []row
			for _, r := range seen {
				switch {
				case q.Mode == store.PageNewest, r.seq < q.Seq:
					older = append(older, r)
				case r.seq > q.Seq || q.Mode == store.PageAround:
					newer = append(newer, r)
				}
			}
			takeOld, takeNew := min(len(older), q.Limit), 0
			switch q.Mode {
			case store.PageAfter:
				takeOld, takeNew = 0, min(len(newer), q.Limit)
			case store.PageAround:
				takeOld = min(len(older), q.Limit/2)
				takeNew = min(len(newer), q.Limit-takeOld)
				takeOld = min(len(older), q.Limit-takeNew)
			}
			return append(append([]row{}, older[len(older)-takeOld:]...), newer[:takeNew]...)
		}
		for _, mode := range []store.PageMode{store.PageNewest, store.PageBefore, store.PageAfter, store.PageAround} {
			for _, seq := range []int64{1, 2, 3, 50, 151, 152, 299, 300} {
				for _, limit := range []int{1, 7, 50, 100} {
					q := store.PageQuery{Mode: mode, Seq: seq, Limit: limit, AllVersions: versions}
					p, err := db.MessagesPage(ctx, u.ID, conv, q)
					if err != nil {
						t.Fatal(err)
					}
					w := want(q)
					if len(p.Items) != len(w) {
						t.Fatalf("%+v: %d messages, want %d", q, len(p.Items), len(w))
					}
					for i, m := range p.Items {
						if m.Seq != w[i].seq || m.Content != w[i].text || m.Superseded != w[i].superseded {
							t.Fatalf("%+v: item %d is seq %d (%d bytes, superseded %v), want seq %d (%d bytes, superseded %v)",
								q, i, m.Seq, len(m.Content), m.Superseded, w[i].seq, len(w[i].text), w[i].superseded)
						}
						if m.Deleted != (m.Seq%13 == 0) || (m.Seq%7 == 0) != (m.Error != nil && *m.Error == strings.Repeat("e", 1100)) {
							t.Fatalf("%+v: seq %d deleted %v error %v", q, m.Seq, m.Deleted, m.Error != nil)
						}
					}
				}
			}
		}
	}
}
