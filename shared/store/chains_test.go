package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func addAgentMember(t *testing.T, db *store.DB, owner, conv, name string) string {
	t.Helper()
	_, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	var id string
	if err := db.Pool.QueryRow(context.Background(), `insert into agents (owner_id, name, handle, token_hash, token_hint)
		values ($1, $2, $3, $4, $5) returning id`, owner, name, ari.AgentHandle(name), hash, hint).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(context.Background(), `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// A chain's reply budget (2 × chainHops) bounds fan-out: replies that
// mention several agents set off one reply each until the budget is spent,
// then the rest are dropped and the step is Limited. Mentions of self and
// of non-members set off nothing; a reply in a chain cannot be regenerated.
func TestChainReplyBudgetBoundsFanOut(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, echo := chatFixture(t, db, "group", ada)
	b := addAgentMember(t, db, ada.ID, conv, "Bee Bot")
	c := addAgentMember(t, db, ada.ID, conv, "Cee Bot")
	if _, err := db.Pool.Exec(ctx, `update conversations set chain_hops = 2 where id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "@echo-bot go",
		ClientMessageID: "c-1", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	finish := func(id, text string) ari.Message {
		t.Helper()
		m, ok, err := db.SettleReply(ctx, id, ari.StatusComplete, text, "")
		if err != nil || !ok {
			t.Fatalf("settle %s: %v %v", id, ok, err)
		}
		return m
	}
	// hop 0 → echo mentions itself, bee, cee and a stranger: two replies.
	first := finish(sent.Replies[0].ID, "@echo-bot @bee-bot @cee-bot @nobody twice @bee-bot")
	step, err := db.ContinueChain(ctx, first, "")
	if err != nil || step.Limited || step.Hops != 0 || len(step.Replies) != 2 ||
		*step.Replies[0].SenderAgentID != b || *step.Replies[1].SenderAgentID != c || *step.Replies[0].ReplyToID != first.ID {
		t.Fatalf("hop 1 step: %+v %v", step, err)
	}
	// Each reply carries its place in the chain (the Message JSON's
	// chainHop and chainRootId); the reply to the person has none.
	if first.ChainHop != 0 || first.ChainRootID != nil || step.Replies[1].ChainHop != 1 ||
		step.Replies[1].ChainRootID == nil || *step.Replies[1].ChainRootID != sent.Message.ID {
		t.Fatalf("chain of the replies: %+v / %+v", first, step.Replies[1])
	}
	// hop 1 (bee) → mentions echo and cee: two more, the budget (4) is
	// used up.
	bee := finish(step.Replies[0].ID, "@echo-bot and @cee-bot")
	step2, err := db.ContinueChain(ctx, bee, "")
	if err != nil || step2.Limited || step2.Hops != 1 || len(step2.Replies) != 2 {
		t.Fatalf("hop 2 step: %+v %v", step2, err)
	}
	// hop 1 (cee) → its mention finds no room left.
	cee := finish(step.Replies[1].ID, "@bee-bot?")
	step3, err := db.ContinueChain(ctx, cee, "")
	if err != nil || !step3.Limited || step3.Hops != 1 || len(step3.Replies) != 0 {
		t.Fatalf("over the reply budget: %+v %v", step3, err)
	}
	// hop 2 → past the hop budget.
	last := finish(step2.Replies[0].ID, "@bee-bot")
	step4, err := db.ContinueChain(ctx, last, "")
	if err != nil || !step4.Limited || step4.Hops != 2 || len(step4.Replies) != 0 {
		t.Fatalf("over the hop budget: %+v %v", step4, err)
	}
	if m, err := db.Message(ctx, step2.Replies[1].ID); err != nil || m.ChainHop != 2 || *m.ChainRootID != sent.Message.ID {
		t.Fatalf("hop 2 reply: %+v %v", m, err)
	}
	ch, err := db.ReplyChainOf(ctx, step2.Replies[0].ID)
	if err != nil || ch.Hop != 2 || ch.Root != sent.Message.ID || ch.Budget != 2 {
		t.Fatalf("reply chain: %+v %v", ch, err)
	}
	// A reply in a chain answers an agent: it cannot be regenerated.
	var refused *store.RegenerateRefused
	if _, err := db.Regenerate(ctx, store.NewRegenerate{UserID: ada.ID, ConversationID: conv, MessageID: bee.ID}); !errors.As(err, &refused) {
		t.Fatalf("regenerate a chain reply: %v", err)
	}
}

// Outside a group, mentions start no chain.
func TestChainOnlyInGroups(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, echo := chatFixture(t, db, "direct", ada)
	addAgentMember(t, db, ada.ID, conv, "Bee Bot")
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "hi",
		ClientMessageID: "d-1", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := db.SettleReply(ctx, sent.Replies[0].ID, ari.StatusComplete, "ask @bee-bot", "")
	if err != nil {
		t.Fatal(err)
	}
	if step, err := db.ContinueChain(ctx, m, ""); err != nil || step.Limited || len(step.Replies) != 0 {
		t.Fatalf("direct conversation step: %+v %v", step, err)
	}
}
