package store_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// In a group where two agents answered the latest message, a regenerate must
// name the agent; each agent's answers are versioned on their own; one
// regenerate is open per conversation; a later message from a person makes
// the earlier one final.
func TestRegenerateVersionsPerAgent(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, first := chatFixture(t, db, "group", ada)
	_, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	var second string
	if err := db.Pool.QueryRow(ctx, `insert into agents (owner_id, name, handle, token_hash, token_hint)
		values ($1, 'Other Bot', 'other-bot', $2, $3) returning id`, ada.ID, hash, hint).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, second); err != nil {
		t.Fatal(err)
	}
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "@echo-bot @other-bot hi",
		ClientMessageID: "g-1", ReplyAgentIDs: []string{first, second}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sent.Replies {
		if _, _, err := db.SettleReply(ctx, r.ID, ari.StatusComplete, "v1", ""); err != nil {
			t.Fatal(err)
		}
	}
	in := store.NewRegenerate{UserID: ada.ID, ConversationID: conv, MessageID: sent.Message.ID}
	var refused *store.RegenerateRefused
	if _, err := db.Regenerate(ctx, in); !errors.As(err, &refused) {
		t.Fatalf("regenerate without agentId when two answered: %v", err)
	}
	in.AgentID = second
	got, err := db.Regenerate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if got.Reply.Version != 2 || *got.Reply.SenderAgentID != second || got.Previous.SenderAgentID == nil ||
		*got.Previous.SenderAgentID != second || got.Reply.Status != ari.StatusPending {
		t.Fatalf("regenerated: %+v", got)
	}
	// One open regenerate per conversation, whoever's.
	in.AgentID = first
	var open *store.RegenerateOpen
	if _, err := db.Regenerate(ctx, in); !errors.As(err, &open) || open.ReplyID != got.Reply.ID {
		t.Fatalf("second open regenerate: %v", err)
	}
	if _, _, err := db.SettleReply(ctx, got.Reply.ID, ari.StatusComplete, "v2", ""); err != nil {
		t.Fatal(err)
	}
	// The first agent's answer is still its version 1 and not superseded.
	again, err := db.Regenerate(ctx, in)
	if err != nil || again.Reply.Version != 2 || *again.Reply.SenderAgentID != first {
		t.Fatalf("first agent's regenerate: %+v %v", again, err)
	}
	page, err := db.MessagesPage(ctx, ada.ID, conv, store.PageQuery{Mode: store.PageNewest, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, m := range page.Items {
		shown = append(shown, m.ID)
	}
	if !slices.Equal(shown, []string{sent.Message.ID, got.Reply.ID, again.Reply.ID}) {
		t.Fatalf("history shows %v", shown)
	}

	// A later message from a person: the earlier one cannot be answered
	// again, by its id or its reply's.
	if _, _, err := db.SettleReply(ctx, again.Reply.ID, ari.StatusComplete, "v2", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "plain", ClientMessageID: "g-2"}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{sent.Message.ID, got.Reply.ID} {
		if _, err := db.Regenerate(ctx, store.NewRegenerate{UserID: ada.ID, ConversationID: conv, MessageID: id}); !errors.As(err, &refused) {
			t.Fatalf("regenerate of %s after a later message: %v", id, err)
		}
	}
	// A stranger gets not found.
	eve := testenv.NewUser(t, db, "Eve")
	if _, err := db.Regenerate(ctx, store.NewRegenerate{UserID: eve.ID, ConversationID: conv, MessageID: sent.Message.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger's regenerate: %v", err)
	}
}

// Search finds an answer once: its newest version, as history shows it by
// default; the superseded versions stay out of both search plans.
func TestSearchFindsTheNewestVersionOnly(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, agent := chatFixture(t, db, "direct", ada)
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "tell me about quokkas",
		ClientMessageID: "s-1", ReplyAgentIDs: []string{agent}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.SettleReply(ctx, sent.Replies[0].ID, ari.StatusComplete, "marsupial answer one", ""); err != nil {
		t.Fatal(err)
	}
	in := store.NewRegenerate{UserID: ada.ID, ConversationID: conv, MessageID: sent.Message.ID}
	ids := []string{sent.Replies[0].ID}
	for _, text := range []string{"marsupial answer two", "marsupial answer three"} {
		got, err := db.Regenerate(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := db.SettleReply(ctx, got.Reply.ID, ari.StatusComplete, text, ""); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got.Reply.ID)
	}
	for _, plan := range []struct {
		name string
		cost float64
	}{{"index", 0}, {"history", 1e12}} {
		undo := store.SetGINMatchCost(plan.cost)
		for _, q := range []string{"marsupial", "answer one", "marsu"} {
			hits, more, err := db.SearchMessages(ctx, ada.ID, store.SearchQuery{Text: q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, h := range hits {
				got = append(got, h.Message.ID)
			}
			want := []string{ids[2]}
			if q == "answer one" {
				want = nil // only a superseded version says it
			}
			if more || !slices.Equal(got, want) {
				t.Fatalf("%s plan, %q: hits %v (more %v), want %v (versions %v)", plan.name, q, got, more, want, ids)
			}
			if len(hits) == 1 && (hits[0].Message.Version != 3 || !slices.Equal(hits[0].Message.Versions, ids)) {
				t.Fatalf("%s plan, %q: hit %+v", plan.name, q, hits[0].Message.Message)
			}
		}
		undo()
	}
}
