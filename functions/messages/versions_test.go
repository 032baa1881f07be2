package messages

import (
	"context"
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
