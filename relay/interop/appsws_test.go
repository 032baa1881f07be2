package interop

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The app is a Node program with nothing but the `ws` package and
// PROTOCOL.md (testdata/app.mjs) on one relay instance; a Go SDK agent on
// the other calls the sample notes app's add_note as a typed tool. The
// app_action reaches the Node app, its app_action_result comes back to the
// agent as a value, and the agent's reply says so. The app then reports its
// user's own `clear`, acknowledged and recorded.
func TestNodeWSAppAnswersGoSDKTypedTool(t *testing.T) {
	dir := nodeDir(t)
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Go Notes", "go-notes")
	conv := c.seedConversation(t, user.ID, agentID)
	session := c.seedNotesSession(t, user.ID, conv, agentID, "notes-"+testenv.RandomID(4))

	type note struct {
		Text string `json:"text"`
	}
	type pinned struct {
		Count int    `json:"count"`
		Text  string `json:"text"`
	}
	addNote := agentsdk.Tool[note, pinned]{Name: "add_note"}
	goAgent(t, a.AgentURL(), token, func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
		if !addNote.Offered(task) {
			return s.CompleteWith("no notes app here")
		}
		res, err := addNote.Call(ctx, s, note{Text: task.Message.Content})
		if err != nil {
			return s.CompleteWith("the app refused: " + err.Error())
		}
		return s.CompleteWith(fmt.Sprintf("pinned %q, %d on the board", res.Text, res.Count))
	})
	app := startNode(t, dir, "app.mjs", "ARI_CLIENT_URL="+b.ClientURL(), "ARI_SESSION="+user.Token,
		"CONVERSATION_ID="+conv, "SESSION_ID="+session, "MESSAGE=Milch kaufen")
	act, _ := app.waitEvent(t, "action")["action"].(map[string]any)
	if args, _ := act["arguments"].(map[string]any); act["action"] != "add_note" || act["sessionId"] != session || args["text"] != "Milch kaufen" {
		t.Fatalf("the app's action: %v", act)
	}
	if r := app.waitEvent(t, "reply"); r["status"] != "complete" || r["content"] != `pinned "Milch kaufen", 1 on the board` {
		t.Fatalf("the reply: %v", r)
	}
	if ack, _ := app.waitEvent(t, "ack")["ack"].(map[string]any); ack["id"] != "clear-1" || ack["sessionId"] != session {
		t.Fatalf("the app's user action: %v", ack)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var calls, events int
	if err := c.DB.Pool.QueryRow(ctx, `select (select count(*) from app_tool_calls where session_id = $1 and state = 'answered'),
		(select count(*) from app_events where session_id = $1 and kind = 'action' and name = 'clear')`, session).Scan(&calls, &events); err != nil {
		t.Fatal(err)
	}
	if calls != 1 || events != 1 {
		t.Fatalf("%d answered calls, %d recorded clear actions; want 1 and 1", calls, events)
	}
}
