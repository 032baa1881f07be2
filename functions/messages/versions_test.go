package messages

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// History shows the newest version of a regenerated answer, with every
// version's id; ?versions=all lists the superseded ones too.
func TestHistoryShowsNewestVersion(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, f.DB, "ada")
	conv := apitest.Conversation(t, f.DB, "direct", ada.ID)
	agent := apitest.Agent(t, f.DB, ada.ID, "Echo", "private")
	if _, err := f.DB.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, agent); err != nil {
		t.Fatal(err)
	}
	sent, err := f.DB.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "hi",
		ClientMessageID: "v-1", ReplyAgentIDs: []string{agent}})
	if err != nil {
		t.Fatal(err)
	}
	first := sent.Replies[0].ID
	if _, _, err := f.DB.SettleReply(ctx, first, ari.StatusComplete, "one", ""); err != nil {
		t.Fatal(err)
	}
	again, err := f.DB.Regenerate(ctx, store.NewRegenerate{UserID: ada.ID, ConversationID: conv, MessageID: sent.Message.ID})
	if err != nil {
		t.Fatal(err)
	}
	second := again.Reply.ID

	base := "/api/conversations/" + conv + "/messages"
	p := apitest.Decode[page](t, f.Must(t, 200, ada.Token, "GET", base, nil))
	if len(p.Items) != 2 || p.Items[1].ID != second || p.Items[1].Version != 2 || p.Items[1].Superseded ||
		!slices.Equal(p.Items[1].Versions, []string{first, second}) || p.Items[0].Version != 0 {
		t.Fatalf("newest page = %+v", p.Items)
	}
	p = apitest.Decode[page](t, f.Must(t, 200, ada.Token, "GET", base+"?versions=all", nil))
	if len(p.Items) != 3 || p.Items[1].ID != first || !p.Items[1].Superseded || p.Items[1].Version != 1 ||
		!slices.Equal(p.Items[1].Versions, []string{first, second}) {
		t.Fatalf("every version = %+v", p.Items)
	}
}

// A reply an agent's mention set off shows its place in the agent chain
// (chainHop, chainRootId) in history; the reply to the person shows none.
func TestHistoryShowsChainHop(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, f.DB, "ada")
	conv := apitest.Conversation(t, f.DB, "group", ada.ID)
	echo := apitest.Agent(t, f.DB, ada.ID, "Echo", "private")
	bee := apitest.Agent(t, f.DB, ada.ID, "Bee", "private")
	for _, a := range []string{echo, bee} {
		if _, err := f.DB.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, a); err != nil {
			t.Fatal(err)
		}
	}
	sent, err := f.DB.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "@echo ask bee",
		ClientMessageID: "ch-1", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	first, _, err := f.DB.SettleReply(ctx, sent.Replies[0].ID, ari.StatusComplete, "@bee what do you say?", "")
	if err != nil {
		t.Fatal(err)
	}
	step, err := f.DB.ContinueChain(ctx, first, "")
	if err != nil || len(step.Replies) != 1 {
		t.Fatalf("chain step: %+v %v", step, err)
	}
	raw := f.Must(t, 200, ada.Token, "GET", "/api/conversations/"+conv+"/messages", nil)
	var p struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Items) != 3 {
		t.Fatalf("history = %s", raw)
	}
	if _, has := p.Items[1]["chainHop"]; has || p.Items[1]["chainRootId"] != nil {
		t.Fatalf("the reply to the person = %v", p.Items[1])
	}
	if hop := p.Items[2]; hop["id"] != step.Replies[0].ID || hop["chainHop"] != float64(1) || hop["chainRootId"] != sent.Message.ID ||
		hop["replyToId"] != first.ID {
		t.Fatalf("the chain reply = %v", hop)
	}
}
