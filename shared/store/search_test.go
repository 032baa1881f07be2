package store_test

import (
	"context"
	"fmt"
	"slices"
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
	for _, q := range []string{"apple", "ap", "banana split", `"apple pie"`, "cherry -apple", "number", "nothing"} {
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
