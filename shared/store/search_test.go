package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Both search plans (GIN index for rare terms, the caller's history for
// common ones) find the same hits in the same order, page by page.
func TestSearchPlansAgree(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada, bob := testenv.NewUser(t, db, "ada"), testenv.NewUser(t, db, "bob")
	mine, err := db.CreateGroup(ctx, ada.ID, store.NewGroup{Title: "a", UserIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := db.CreateGroup(ctx, bob.ID, store.NewGroup{Title: "b"})
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"apple", "apricot", "banana", "cherry", "apple pie", "banana split"}
	for i := 0; i < 120; i++ {
		for _, conv := range []string{mine, theirs} {
			text := fmt.Sprintf("%s %s number %d", words[i%len(words)], words[(i*7)%len(words)], i)
			if _, err := db.Pool.Exec(ctx, `with c as (update conversations set last_seq = last_seq + 1 where id = $1 returning last_seq)
				insert into messages (conversation_id, seq, role, sender_user_id, content) select $1, last_seq, 'user', $2, $3 from c`,
				conv, bob.ID, text); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Statistics, or the history half would read the index too (SetGINMatchCost).
	if _, err := db.Pool.Exec(ctx, `analyze messages`); err != nil {
		t.Fatal(err)
	}
	walk := func(q string) []string {
		var ids []string
		var after *store.SearchCursor
		for page := 0; page < 100; page++ {
			hits, more, err := db.SearchMessages(ctx, ada.ID, store.SearchQuery{Text: q, After: after, Limit: 7})
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			for _, h := range hits {
				if h.Message.ConversationID != mine {
					t.Fatalf("%q found a message of another user's conversation", q)
				}
				ids = append(ids, h.Message.ID)
			}
			if !more {
				return ids
			}
			last := hits[len(hits)-1]
			after = &store.SearchCursor{Rank: last.Rank, Seq: last.Message.Seq, ID: last.Message.ID}
		}
		t.Fatalf("%q: paging does not end", q)
		return nil
	}
	for _, q := range []string{"apple", "ap", "banana split", `"apple pie"`, "cherry -apple", "number", "nothing",
		"-apple", "apple or -banana", `"pie apple"`, "apple | pie", "", "!!", `'`} {
		restore := store.SetGINMatchCost(0) // everything through the index
		viaIndex := walk(q)
		restore()
		restore = store.SetGINMatchCost(1e12) // everything through the history
		viaHistory := walk(q)
		restore()
		if !slices.Equal(viaIndex, viaHistory) {
			t.Errorf("%q: plans disagree: %d hits via index, %d via history", q, len(viaIndex), len(viaHistory))
		}
		seen := map[string]bool{}
		for _, id := range viaIndex {
			if seen[id] {
				t.Errorf("%q: hit %s twice", q, id)
			}
			seen[id] = true
		}
		if q == "number" && len(viaIndex) != 120 {
			t.Errorf("number: %d hits, want 120", len(viaIndex))
		}
		if q == "nothing" && len(viaIndex) != 0 {
			t.Errorf("nothing: %d hits", len(viaIndex))
		}
	}
}

// The scoped index keys every word by its conversation inside tsvector and
// tsquery text; words that need quoting there (quotes, backslashes, colons,
// operators, non-ASCII) are found alike through it and through the history,
// in the caller's conversations only.
func TestScopedSearchFindsQuotedWords(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada, bob := testenv.NewUser(t, db, "ada"), testenv.NewUser(t, db, "bob")
	mine, err := db.CreateGroup(ctx, ada.ID, store.NewGroup{Title: "a"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := db.CreateGroup(ctx, ada.ID, store.NewGroup{Title: "a2"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := db.CreateGroup(ctx, bob.ID, store.NewGroup{Title: "b"})
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{
		`it's o'neil's 'quoted' word`, `back\slash C:\path\file.txt \\ \'`, `a:b c:* d&e f|g !h <-> i<2>j`,
		`mail ada@example.com and https://example.com/a'b?c=\d`, `Straße naïve café 東京 emoji 🙂`,
		`''double'' ''' \\\ end`, `x-y_z 3.14 -5 +6 #tag @mention`,
	}
	// One message over 64 KB, which the scoped index leaves to another.
	texts = append(texts, strings.Repeat("filler ", 10000)+"needle o'hare")
	// Words near a lexeme's limit of 2,046 bytes, which a key of 8 bytes
	// used to push over it (migration 00034 cuts keyed lexemes to 255
	// characters), two-byte runes among them, and two long words that share
	// their first 255 characters and so one cut key.
	texts = append(texts, strings.Repeat("a", 2039), "b"+strings.Repeat("c", 2045)+" tail",
		strings.Repeat("é", 1020), strings.Repeat("p", 300)+"x o'k", strings.Repeat("p", 300)+"y")
	for _, conv := range []string{mine, second, theirs} {
		for _, text := range texts {
			if _, err := db.Pool.Exec(ctx, `with c as (update conversations set last_seq = last_seq + 1 where id = $1 returning last_seq)
				insert into messages (conversation_id, seq, role, sender_user_id, content) select $1, last_seq, 'user', $2, $3 from c`,
				conv, ada.ID, text); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := db.Pool.Exec(ctx, `analyze messages`); err != nil { // see SetGINMatchCost
		t.Fatal(err)
	}
	search := func(cost float64, q, conv string) []string {
		defer store.SetGINMatchCost(cost)()
		hits, _, err := db.SearchMessages(ctx, ada.ID, store.SearchQuery{Text: q, ConversationID: conv, Limit: 50})
		if err != nil {
			t.Fatalf("%.80q: %v", q, err)
		}
		var ids []string
		for _, h := range hits {
			if h.Message.ConversationID == theirs {
				t.Fatalf("%q found a message of another user's conversation", q)
			}
			ids = append(ids, h.Message.ID)
		}
		return ids
	}
	// Every word of every text, as typed and as its own query, plus the
	// texts whole (websearch syntax reads their operators).
	var queries []string
	for _, text := range texts {
		if len(text) <= 200 {
			queries = append(queries, text, `"`+text+`"`) // and as one phrase
		}
		var lexemes []string
		if err := db.Pool.QueryRow(ctx, `select coalesce(array_agg(lexeme), '{}') from unnest(to_tsvector('simple', $1))`, text).Scan(&lexemes); err != nil {
			t.Fatal(err)
		}
		for _, l := range lexemes {
			queries = append(queries, l, `"`+l+`"`)
		}
	}
	for _, q := range queries {
		for _, conv := range []string{"", second} {
			viaIndex, viaHistory := search(0, q, conv), search(1e12, q, conv)
			if !slices.Equal(viaIndex, viaHistory) {
				t.Errorf("%q (conversation %q): %d hits via the scoped index, %d via history", q, conv, len(viaIndex), len(viaHistory))
			}
		}
	}
	if n := len(search(0, "neil", "")); n != 2 {
		t.Errorf("neil: %d hits via the scoped index, want 2 (one per conversation of ada's)", n)
	}
	if n := len(search(0, "needle", "")); n != 2 {
		t.Errorf("needle (a message over 64 KB): %d hits via the scoped index, want 2", n)
	}
	if n := len(search(0, "東京", second)); n != 1 {
		t.Errorf("東京 in one conversation: %d hits, want 1", n)
	}
	for q, want := range map[string]int{`"quoted word"`: 2, `"word quoted"`: 0, `"neil s quoted" -nothing`: 2,
		strings.Repeat("p", 300) + "x": 2, strings.Repeat("a", 2039): 2, strings.Repeat("é", 1020): 2} {
		if n := len(search(0, q, "")); n != want {
			t.Errorf("%.40q (%d bytes): %d hits via the scoped index, want %d", q, len(q), n, want)
		}
	}
}
