package conversations

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// openRequest makes a streaming reply of agentID in conv and opens an input
// request on it, as the relay does for an agent_input_request.
func openRequest(t *testing.T, db *store.DB, conv, agentID, id, kind string, options []string) ari.InputRequest {
	t.Helper()
	reply := apitest.SeedMessage(t, db, conv, ari.RoleAgent, nil, &agentID, "", ari.StatusStreaming, time.Now(), nil, nil)
	r, created, err := db.OpenInputRequest(context.Background(), store.NewInputRequest{ID: id, ReplyID: reply, AgentID: agentID,
		Kind: kind, Prompt: "Darf ich?", Options: options, TTL: time.Hour})
	if err != nil || !created {
		t.Fatalf("open: %v %v", created, err)
	}
	return r
}

func TestInputRequestsListAndAnswer(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "Ada")
	bob := testenv.NewUser(t, f.DB, "Bob")
	eve := testenv.NewUser(t, f.DB, "Eve")
	agent := apitest.Agent(t, f.DB, ada.ID, "echo", ari.VisibilityPrivate)
	conv := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	if _, err := f.DB.Pool.Exec(t.Context(), `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, agent); err != nil {
		t.Fatal(err)
	}
	approval := openRequest(t, f.DB, conv, agent, "q-a", ari.InputApproval, nil)
	question := openRequest(t, f.DB, conv, agent, "q-b", ari.InputQuestion, []string{"rot", "blau"})

	// Listed for members, by conversation and for the caller, a page at a time.
	page := apitest.Decode[httpx.Page[ari.InputRequest]](t, f.Must(t, 200, bob.Token, "GET", "/api/conversations/"+conv+"/input-requests?limit=1", nil))
	if len(page.Items) != 1 || page.Items[0].ID != "q-a" || page.NextCursor == nil || page.Items[0].State != "open" {
		t.Fatalf("first page = %+v", page)
	}
	page = apitest.Decode[httpx.Page[ari.InputRequest]](t, f.Must(t, 200, bob.Token, "GET", "/api/conversations/"+conv+"/input-requests?limit=1&cursor="+*page.NextCursor, nil))
	if len(page.Items) != 1 || page.Items[0].ID != "q-b" || page.Items[0].Options[1] != "blau" || page.NextCursor != nil {
		t.Fatalf("second page = %+v", page)
	}
	mine := apitest.Decode[httpx.Page[ari.InputRequest]](t, f.Must(t, 200, ada.Token, "GET", "/api/input-requests", nil))
	if len(mine.Items) != 2 {
		t.Fatalf("ada's open requests = %+v", mine)
	}
	if none := apitest.Decode[httpx.Page[ari.InputRequest]](t, f.Must(t, 200, eve.Token, "GET", "/api/input-requests", nil)); len(none.Items) != 0 {
		t.Fatalf("eve sees %+v", none)
	}
	if status, _ := f.Call(t, eve.Token, "GET", "/api/conversations/"+conv+"/input-requests", nil); status != 404 {
		t.Fatalf("a stranger's list answered %d", status)
	}

	// Answers: a stranger's is 404, one that does not fit is 400 and
	// changes nothing, the first valid one wins, later ones are 409.
	agentCh := apitest.Subscribe(t, f.Redis, f.Keys.AgentChannel(agent))
	bobCh := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(bob.ID))
	path := "/api/input-requests/" + approval.ID + "/answer"
	for _, tc := range []struct {
		token string
		body  any
		want  int
		code  string
	}{
		{eve.Token, AnswerRequest{Approved: apitest.Ptr(true)}, 404, "not_found"},
		{ada.Token, AnswerRequest{Answer: apitest.Ptr("ja")}, 400, "invalid_request"},
		{ada.Token, `{}`, 400, "invalid_request"},
		{ada.Token, `{"approved":"yes"}`, 400, "invalid_request"},
	} {
		status, raw := f.Call(t, tc.token, "POST", path, tc.body)
		if status != tc.want || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != tc.code {
			t.Fatalf("%v: %d %s", tc.body, status, raw)
		}
	}
	got := apitest.Decode[ari.InputRequest](t, f.Must(t, 200, bob.Token, "POST", path, AnswerRequest{Approved: apitest.Ptr(false), Answer: apitest.Ptr("lieber nicht")}))
	if got.State != "answered" || got.Approved == nil || *got.Approved || got.AnsweredBy == nil || *got.AnsweredBy != bob.ID {
		t.Fatalf("answered = %+v", got)
	}
	status, raw := f.Call(t, ada.Token, "POST", path, AnswerRequest{Approved: apitest.Ptr(true)})
	if status != 409 || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != "already_answered" {
		t.Fatalf("second answer: %d %s", status, raw)
	}
	for name, ev := range map[string]events.Event{"user": apitest.NextEvent(t, bobCh), "agent": apitest.NextEvent(t, agentCh)} {
		var d struct {
			RequestID, State, AnsweredBy string
			Approved                     *bool
		}
		if err := json.Unmarshal(ev.Data, &d); err != nil || ev.Type != events.InputResolved || d.RequestID != "q-a" ||
			d.State != "answered" || d.AnsweredBy != bob.ID || d.Approved == nil || *d.Approved {
			t.Fatalf("%s channel: %+v %s", name, ev, ev.Data)
		}
	}
	// The question: only one of its options.
	qpath := "/api/input-requests/" + question.ID + "/answer"
	if status, raw := f.Call(t, ada.Token, "POST", qpath, AnswerRequest{Answer: apitest.Ptr("grün")}); status != 400 {
		t.Fatalf("answer outside the options: %d %s", status, raw)
	}
	f.Must(t, 200, ada.Token, "POST", qpath, AnswerRequest{Answer: apitest.Ptr("blau")})
	if left := apitest.Decode[httpx.Page[ari.InputRequest]](t, f.Must(t, 200, ada.Token, "GET", "/api/input-requests", nil)); len(left.Items) != 0 {
		t.Fatalf("still open = %+v", left)
	}
	if status, _ := f.Call(t, ada.Token, "POST", "/api/input-requests/nope%7B/answer", AnswerRequest{Approved: apitest.Ptr(true)}); status != 404 {
		t.Fatalf("bad id answered %d", status)
	}
}
