package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The life of an input request in Postgres: opening it makes the reply wait
// (one open request per reply, ids unique), of many concurrent answers
// exactly one wins, delivery lets the reply stream again once, expiry and
// the reply's end close what is open.
func TestInputRequestLifecycle(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	bob := testenv.NewUser(t, db, "Bob")
	conv, echo := chatFixture(t, db, "group", ada, bob)
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "go",
		ClientMessageID: "c-1", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	reply := sent.Replies[0].ID
	open := func(id string) (ari.InputRequest, bool, error) {
		return db.OpenInputRequest(ctx, store.NewInputRequest{ID: id, ReplyID: reply, AgentID: echo, Kind: ari.InputApproval,
			Prompt: "Ok?", TTL: time.Hour})
	}
	if _, _, err := open("q-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("open on a pending reply: %v", err)
	}
	if ok, err := db.StartReply(ctx, reply); err != nil || !ok {
		t.Fatal(ok, err)
	}
	r, created, err := open("q-1")
	if err != nil || !created || r.State != ari.InputOpen || r.ConversationID != conv {
		t.Fatalf("open = %+v %v %v", r, created, err)
	}
	if m, _ := db.Message(ctx, reply); m.Status != ari.StatusWaitingInput {
		t.Fatalf("reply status %s", m.Status)
	}
	if _, created, err := open("q-1"); err != nil || created {
		t.Fatalf("retry = %v %v", created, err)
	}
	if _, _, err := open("q-2"); !errors.Is(err, store.ErrInputPending) {
		t.Fatalf("second request: %v", err)
	}

	// sync_result's list: the newest open requests, shown oldest first.
	later, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: bob.ID, ConversationID: conv, Content: "und?",
		ClientMessageID: "c-2", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	reply2 := later.Replies[0].ID
	if ok, err := db.StartReply(ctx, reply2); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, _, err := db.OpenInputRequest(ctx, store.NewInputRequest{ID: "q-later", ReplyID: reply2, AgentID: echo,
		Kind: ari.InputQuestion, Prompt: "Und?", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ids := func(l []ari.InputRequest) (out []string) {
		for _, r := range l {
			out = append(out, r.ID)
		}
		return out
	}
	if l, err := db.NewestOpenInputRequests(ctx, ada.ID, 1); err != nil || len(l) != 1 || l[0].ID != "q-later" {
		t.Fatalf("newest 1 = %v %v", ids(l), err)
	}
	if l, err := db.NewestOpenInputRequests(ctx, bob.ID, 5); err != nil || len(l) != 2 || l[0].ID != "q-1" || l[1].ID != "q-later" {
		t.Fatalf("newest 5 = %v %v", ids(l), err)
	}
	if l, err := db.NewestOpenInputRequests(ctx, testenv.NewUser(t, db, "Eve").ID, 5); err != nil || len(l) != 0 {
		t.Fatalf("an outsider's = %v %v", ids(l), err)
	}
	if _, ok, err := db.SettleReply(ctx, reply2, ari.StatusCancelled, "", ""); err != nil || !ok {
		t.Fatal(ok, err)
	}

	// Twenty answers at once, from both members: one wins.
	var wins, closed int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 20 {
		u := ada.ID
		if i%2 == 1 {
			u = bob.ID
		}
		yes := i%3 == 0
		wg.Go(func() {
			_, err := db.AnswerInputRequest(ctx, u, "q-1", nil, &yes)
			var c *store.InputClosed
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.As(err, &c) && c.State == ari.InputAnswered:
				closed++
			default:
				t.Errorf("answer: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 || closed != 19 {
		t.Fatalf("%d won, %d refused", wins, closed)
	}
	stranger := testenv.NewUser(t, db, "Eve")
	if _, err := db.AnswerInputRequest(ctx, stranger.ID, "q-1", nil, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger: %v", err)
	}
	pending, err := db.UndeliveredInputs(ctx, echo)
	if err != nil || len(pending) != 1 || pending[0].ID != "q-1" {
		t.Fatalf("undelivered = %+v %v", pending, err)
	}
	if ok, err := db.MarkInputDelivered(ctx, "q-1"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _ := db.MarkInputDelivered(ctx, "q-1"); ok {
		t.Fatal("delivered twice")
	}
	if m, _ := db.Message(ctx, reply); m.Status != ari.StatusStreaming {
		t.Fatalf("reply status after delivery %s", m.Status)
	}

	// Expiry, by exactly one of two sweepers; then the reply ends with an
	// open request, which closes with it.
	if _, _, err := open("q-3"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update input_requests set expires_at = now() - interval '1 second' where id = 'q-3'`); err != nil {
		t.Fatal(err)
	}
	var expired [2][]ari.InputRequest
	wg.Go(func() { expired[0], _ = db.ExpireInputRequests(ctx, "") })
	wg.Go(func() { expired[1], _ = db.ExpireInputRequests(ctx, "") })
	wg.Wait()
	if len(expired[0])+len(expired[1]) != 1 {
		t.Fatalf("expired %d and %d", len(expired[0]), len(expired[1]))
	}
	if _, err := db.AnswerInputRequest(ctx, ada.ID, "q-3", nil, new(bool)); err == nil {
		t.Fatal("answered an expired request")
	}
	if _, err := db.MarkInputDelivered(ctx, "q-3"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := open("q-4"); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := db.SettleReply(ctx, reply, ari.StatusCancelled, "", ""); err != nil || !ok {
		t.Fatal(ok, err)
	}
	var c *store.InputClosed
	if _, err := db.AnswerInputRequest(ctx, ada.ID, "q-4", nil, new(bool)); !errors.As(err, &c) || c.State != ari.InputCancelled {
		t.Fatalf("answer after the reply ended: %v", err)
	}
	if open, _ := db.OpenInputRequests(ctx, ada.ID, "", nil, 0); len(open) != 0 {
		t.Fatalf("still open: %+v", open)
	}
}

// An agent that asks again the moment it has an answer: its next request is
// being opened (the reply's row locked) while the first one's delivery is
// recorded. The delivery waits for it and leaves the reply waiting for the
// new request, whose answer could otherwise never reach the agent.
func TestInputDeliveredWhileTheNextRequestOpens(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, echo := chatFixture(t, db, "direct", ada)
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "go",
		ClientMessageID: "c-race", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	reply := sent.Replies[0].ID
	if ok, err := db.StartReply(ctx, reply); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if _, _, err := db.OpenInputRequest(ctx, store.NewInputRequest{ID: "q-race-1", ReplyID: reply, AgentID: echo,
		Kind: ari.InputApproval, Prompt: "Ok?", TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := db.AnswerInputRequest(ctx, ada.ID, "q-race-1", nil, &yes); err != nil {
		t.Fatal(err)
	}
	// OpenInputRequest's steps for the next request, held open.
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range []string{
		`select 1 from messages where id = '` + reply + `' for update`,
		`insert into input_requests (id, message_id, conversation_id, agent_id, kind, prompt, expires_at)
			values ('q-race-2', '` + reply + `', '` + conv + `', '` + echo + `', 'approval', 'Und?', now() + interval '1 hour')`,
		`update messages set status = 'waiting_input' where id = '` + reply + `'`,
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	marked := make(chan error, 1)
	go func() {
		_, err := db.MarkInputDelivered(ctx, "q-race-1")
		marked <- err
	}()
	// The delivery waits on the reply's row.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var waiting int
		if err := db.Pool.QueryRow(ctx, `select count(*) from pg_stat_activity where datname = current_database()
			and wait_event_type = 'Lock' and query like '%messages%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivery did not wait for the reply's row within 10 s")
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-marked:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the delivery was not recorded within 10 s")
	}
	if m, _ := db.Message(ctx, reply); m.Status != ari.StatusWaitingInput {
		t.Fatalf("reply status %s with request q-race-2 open, want waiting_input", m.Status)
	}
}

// A delivery recorded late — after the agent, which already had the answer,
// asked again and was answered again — leaves the reply waiting until the
// newer answer's delivery is recorded too; that answer stays on its way.
func TestLateDeliveryRecordKeepsTheNextAnswerDeliverable(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, echo := chatFixture(t, db, "direct", ada)
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "go",
		ClientMessageID: "c-late", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	reply := sent.Replies[0].ID
	if ok, err := db.StartReply(ctx, reply); err != nil || !ok {
		t.Fatal(ok, err)
	}
	yes := true
	for _, id := range []string{"q-late-1", "q-late-2"} {
		if _, _, err := db.OpenInputRequest(ctx, store.NewInputRequest{ID: id, ReplyID: reply, AgentID: echo,
			Kind: ari.InputApproval, Prompt: "Ok?", TTL: time.Hour}); err != nil {
			t.Fatalf("open %s: %v", id, err)
		}
		if _, err := db.AnswerInputRequest(ctx, ada.ID, id, nil, &yes); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := db.MarkInputDelivered(ctx, "q-late-1"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if m, _ := db.Message(ctx, reply); m.Status != ari.StatusWaitingInput {
		t.Fatalf("reply status %s with q-late-2's answer not delivered, want waiting_input", m.Status)
	}
	if r, err := db.UndeliveredInput(ctx, echo, "q-late-2"); err != nil || r.State != ari.InputAnswered {
		t.Fatalf("q-late-2 undelivered = %+v, %v", r, err)
	}
	if ok, err := db.MarkInputDelivered(ctx, "q-late-2"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if m, _ := db.Message(ctx, reply); m.Status != ari.StatusStreaming {
		t.Fatalf("reply status %s with every answer delivered, want streaming", m.Status)
	}
}

// An A2A task's question is an input request that keeps where its answer
// goes (task, context, dialect, endpoint). It is no socket's: a socket of
// the same agent is never given its answer, and the socket sweep does not
// nudge or time it out. Relay instances find it in A2AUnsent once settled,
// and of many claims (MarkInputDelivered) exactly one wins.
func TestA2AInputRequest(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, db, "Ada")
	conv, echo := chatFixture(t, db, "direct", ada)
	sent, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: ada.ID, ConversationID: conv, Content: "ask",
		ClientMessageID: "c-1", ReplyAgentIDs: []string{echo}})
	if err != nil {
		t.Fatal(err)
	}
	reply := sent.Replies[0].ID
	if ok, err := db.StartReply(ctx, reply); err != nil || !ok {
		t.Fatal(ok, err)
	}
	remote := store.A2ATask{TaskID: "task-9", ContextID: "ctx-9", Dialect: "0.3", Endpoint: "https://agent.example/a2a"}
	r, created, err := db.OpenInputRequest(ctx, store.NewInputRequest{ID: "a2a-q1", ReplyID: reply, AgentID: echo,
		Kind: ari.InputQuestion, Prompt: "Which city?", Options: []string{"Paris", "Tōkyō"}, TTL: time.Hour, A2A: &remote})
	if err != nil || !created || r.A2ATaskID != "task-9" || r.A2AContextID != "ctx-9" || r.A2ADialect != "0.3" || r.A2AEndpoint != remote.Endpoint {
		t.Fatalf("open = %+v %v %v", r, created, err)
	}
	if unsent, err := db.A2AUnsent(ctx, ""); err != nil || len(unsent) != 0 {
		t.Fatalf("unsent while open = %+v %v", unsent, err)
	}
	paris := "Paris"
	if _, err := db.AnswerInputRequest(ctx, ada.ID, "a2a-q1", &paris, nil); err != nil {
		t.Fatal(err)
	}
	if socket, err := db.UndeliveredInputs(ctx, echo); err != nil || len(socket) != 0 {
		t.Fatalf("given to a socket: %+v %v", socket, err)
	}
	if _, err := db.UndeliveredInput(ctx, echo, "a2a-q1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("one, to a socket: %v", err)
	}
	if stale, err := db.StaleUndelivered(ctx, "", 0); err != nil || len(stale) != 0 {
		t.Fatalf("stale for sockets: %+v %v", stale, err)
	}
	unsent, err := db.A2AUnsent(ctx, "")
	if err != nil || len(unsent) != 1 || unsent[0].ID != "a2a-q1" || *unsent[0].Answer != "Paris" || unsent[0].A2ATaskID != "task-9" {
		t.Fatalf("unsent = %+v %v", unsent, err)
	}
	var wins int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			ok, err := db.MarkInputDelivered(ctx, "a2a-q1")
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				wins++
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d claims won", wins)
	}
	if unsent, _ := db.A2AUnsent(ctx, ""); len(unsent) != 0 {
		t.Fatalf("unsent after the claim = %+v", unsent)
	}
	// All four or none: the database refuses half an A2A task.
	if _, err := db.Pool.Exec(ctx, `update input_requests set a2a_dialect = null where id = 'a2a-q1'`); err == nil {
		t.Fatal("stored an A2A task without its dialect")
	}
}
