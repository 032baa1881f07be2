package pushtrigger

import (
	"context"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/notify"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// An agent's input request notifies the conversation's users with kind
// input_request (title the agent's name, body the prompt) under the rules
// of agent replies: the agentReplies switch and mute hold it back.
func TestInputRequestNotifies(t *testing.T) {
	f := setup(t)
	ask, path := f.user(t, "asker", nil)
	off := ari.DefaultNotificationPreferences()
	off.AgentReplies = false
	quiet, quietPath := f.user(t, "quiet", &off)
	muted, mutedPath := f.user(t, "muted", nil)
	conv := f.conversation(t, "group", "Trip", []string{ask.ID, quiet.ID, muted.ID}, muted.ID)
	owner := testenv.NewUser(t, f.db, "owner")
	var agent string
	if err := f.db.Pool.QueryRow(context.Background(), `insert into agents (owner_id, name, handle, token_hash)
		values ($1, 'Helper', 'helper', decode(md5(random()::text), 'hex')) returning id`, owner.ID).Scan(&agent); err != nil {
		t.Fatal(err)
	}
	ds := f.tr.OnInputRequest(context.Background(), ari.InputRequest{ID: "q-1", MessageID: "r-1", ConversationID: conv,
		AgentID: &agent, Kind: ari.InputApproval, Prompt: "Shall I book 19:30?"})
	if d := reasonFor(t, ds, ask.ID); !d.Sent() || d.Kind != notify.KindInputRequest {
		t.Fatalf("asker: %+v", d)
	}
	if d := reasonFor(t, ds, quiet.ID); d.Sent() || d.Reason != notify.ReasonKindOff {
		t.Fatalf("agent replies off: %+v", d)
	}
	if d := reasonFor(t, ds, muted.ID); d.Sent() || d.Reason != notify.ReasonMuted {
		t.Fatalf("muted: %+v", d)
	}
	got := f.received(t, path)
	if len(got) != 1 || got[0].Kind != notify.KindInputRequest || got[0].Title != "Helper in Trip" && got[0].Title != "Helper" ||
		got[0].Body != "Shall I book 19:30?" || got[0].MessageID != "r-1" {
		t.Fatalf("payload %+v", got)
	}
	for _, p := range []string{quietPath, mutedPath} {
		if n := len(f.ps.Deliveries(p)); n != 0 {
			t.Fatalf("%s received %d", p, n)
		}
	}
}
