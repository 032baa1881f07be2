package store_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// chatFixture makes a conversation of kind with the given users and one agent.
func chatFixture(t *testing.T, db *store.DB, kind string, users ...testenv.TestUser) (convID, agentID string) {
	t.Helper()
	ctx := context.Background()
	_, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `insert into agents (owner_id, name, handle, token_hash, token_hint)
		values ($1, 'Echo Bot', 'echo-bot', $2, $3) returning id`, users[0].ID, hash, hint).Scan(&agentID); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `insert into conversations (kind, created_by) values ($1, $2) returning id`,
		kind, users[0].ID).Scan(&convID); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, user_id) values ($1, $2)`, convID, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, convID, agentID); err != nil {
		t.Fatal(err)
	}
	return convID, agentID
}

func TestSeqIsGapFreeUnderConcurrentSenders(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	var users []testenv.TestUser
	for i := 0; i < 50; i++ {
		users = append(users, testenv.NewUser(t, db, fmt.Sprintf("u%d", i)))
	}
	conv, _ := chatFixture(t, db, "group", users...)
	seqs := make([]int64, 50)
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range users {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: users[i].ID, ConversationID: conv,
				Content: "hi", ClientMessageID: fmt.Sprintf("c%d", i)})
			if err != nil {
				errs <- err
				return
			}
			seqs[i] = s.Message.Seq
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs = %v, want 1..50", seqs)
		}
	}
}

func TestSendIsIdempotentAlsoConcurrently(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "ada")
	conv, agent := chatFixture(t, db, "direct", u)
	in := store.NewUserMessage{UserID: u.ID, ConversationID: conv, Content: "hello", ClientMessageID: "same-1", ReplyAgentIDs: []string{agent}}
	results := make([]store.UserSend, 8)
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := db.InsertUserMessage(ctx, in)
			if err != nil {
				t.Error(err)
			}
			results[i] = s
		}(i)
	}
	wg.Wait()
	created := 0
	for _, r := range results {
		if r.Created {
			created++
		}
		if r.Message.ID != results[0].Message.ID || len(r.Replies) != 1 || r.Replies[0].ID != results[0].Replies[0].ID {
			t.Fatalf("different results: %+v vs %+v", r, results[0])
		}
	}
	if created != 1 {
		t.Fatalf("%d sends reported created, want 1", created)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `select count(*) from messages where conversation_id = $1`, conv).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d rows, want the message and its reply", n)
	}
	r := results[0].Replies[0]
	if r.Status != ari.StatusPending || r.Seq != 2 || r.ReplyToID == nil || *r.ReplyToID != results[0].Message.ID {
		t.Fatalf("reply = %+v", r)
	}
	// A later message after the duplicates still gets the next seq: the
	// rolled-back attempts left no gap.
	s, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: u.ID, ConversationID: conv, Content: "next", ClientMessageID: "other"})
	if err != nil || s.Message.Seq != 3 {
		t.Fatalf("next = %+v, %v", s.Message, err)
	}
}

func TestSendByNonMemberIsNotFound(t *testing.T) {
	db := testenv.DB(t)
	u := testenv.NewUser(t, db, "ada")
	eve := testenv.NewUser(t, db, "eve")
	conv, _ := chatFixture(t, db, "direct", u)
	_, err := db.InsertUserMessage(context.Background(), store.NewUserMessage{UserID: eve.ID, ConversationID: conv, Content: "x", ClientMessageID: "a"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestSettleOnceAndReadMarks(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "ada")
	conv, agent := chatFixture(t, db, "direct", u)
	s, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: u.ID, ConversationID: conv, Content: "hi", ClientMessageID: "m1", ReplyAgentIDs: []string{agent}})
	if err != nil {
		t.Fatal(err)
	}
	reply := s.Replies[0].ID
	if ok, err := db.StartReply(ctx, reply); err != nil || !ok {
		t.Fatalf("start = %v, %v", ok, err)
	}
	if ok, _ := db.StartReply(ctx, reply); ok {
		t.Fatal("started twice")
	}
	m, settled, err := db.SettleReply(ctx, reply, ari.StatusComplete, "Grüß dich 🙂", "")
	if err != nil || !settled || m.Status != ari.StatusComplete || m.Content != "Grüß dich 🙂" || m.CompletedAt == nil {
		t.Fatalf("settle = %+v %v %v", m, settled, err)
	}
	if _, settled, _ := db.SettleReply(ctx, reply, ari.StatusError, "other", "boom"); settled {
		t.Fatal("settled twice")
	}
	if got, _ := db.Message(ctx, reply); got.Content != "Grüß dich 🙂" || got.Status != ari.StatusComplete {
		t.Fatalf("stored = %+v", got)
	}

	if got, moved, err := db.MarkRead(ctx, u.ID, conv, 99); err != nil || got != 2 || !moved {
		t.Fatalf("mark past end = %d %v, %v; want lowered to 2, moved", got, moved, err)
	}
	if got, moved, err := db.MarkRead(ctx, u.ID, conv, 1); err != nil || got != 2 || moved {
		t.Fatalf("mark backwards = %d %v, %v; want 2 kept, not moved", got, moved, err)
	}
	if got, moved, err := db.MarkRead(ctx, u.ID, conv, 2); err != nil || got != 2 || moved {
		t.Fatalf("mark again = %d %v, %v; want 2 kept, not moved", got, moved, err)
	}
	eve := testenv.NewUser(t, db, "eve")
	if _, _, err := db.MarkRead(ctx, eve.ID, conv, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("foreign mark = %v", err)
	}
	states, err := db.ConversationStates(ctx, u.ID)
	if err != nil || len(states) != 1 || states[0].LastSeq != 2 || states[0].LastReadSeq != 2 || states[0].UnreadCount != 0 {
		t.Fatalf("states = %+v, %v", states, err)
	}
	if _, err := db.MemberReply(ctx, eve.ID, reply); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("foreign reply = %v", err)
	}
	in, err := db.TaskInput(ctx, s.Message.ID, 20)
	if err != nil || in.Content != "hi" || in.SenderName != "ada" || len(in.History) != 0 {
		t.Fatalf("task input = %+v, %v", in, err)
	}
}

func TestOpenRepliesAreTheDeploymentsOwn(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "ada")
	conv, agent := chatFixture(t, db, "direct", u)
	reply := map[string]string{}
	for i, dep := range []string{"one:", "two:", "legacy"} {
		s, err := db.InsertUserMessage(ctx, store.NewUserMessage{UserID: u.ID, ConversationID: conv, Content: "hi",
			ClientMessageID: fmt.Sprintf("dep-%d", i), ReplyAgentIDs: []string{agent}, Deployment: dep})
		if err != nil {
			t.Fatal(err)
		}
		reply[dep] = s.Replies[0].ID
		if ok, err := db.StartReply(ctx, reply[dep]); err != nil || !ok {
			t.Fatalf("start = %v, %v", ok, err)
		}
	}
	// A reply stored before replies were marked belongs to every deployment.
	if _, err := db.Pool.Exec(ctx, `update messages set relay_deployment = null where id = $1`, reply["legacy"]); err != nil {
		t.Fatal(err)
	}
	ids := func(rs []store.OpenReply, err error) []string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.ConversationID == conv { // other tests share the database
				out = append(out, r.ID)
			}
		}
		sort.Strings(out)
		return out
	}
	for _, dep := range []string{"one:", "two:"} {
		want := []string{reply[dep], reply["legacy"]}
		sort.Strings(want)
		for name, got := range map[string][]string{
			"OpenReplies":           ids(db.OpenReplies(ctx, dep)),
			"AgentStreamingReplies": ids(db.AgentStreamingReplies(ctx, dep, agent)),
			"UserStreamingReplies":  ids(db.UserStreamingReplies(ctx, dep, u.ID)),
		} {
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s(%q) = %v, want %v", name, dep, got, want)
			}
		}
	}
	var dep *string
	if err := db.Pool.QueryRow(ctx, `select relay_deployment from messages where id = $1`, reply["one:"]).Scan(&dep); err != nil || dep == nil || *dep != "one:" {
		t.Fatalf("relay_deployment = %v, %v", dep, err)
	}
}

// What a send needs about its conversation comes in one read, for members
// only: its kind, turn policy and agents in joining order (a2a fields too).
func TestSendTargetFor(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "ada")
	eve := testenv.NewUser(t, db, "eve")
	conv, first := chatFixture(t, db, "group", u)
	_, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	var second string
	if err := db.Pool.QueryRow(ctx, `insert into agents (owner_id, name, handle, token_hash, token_hint, a2a_endpoint)
		values ($1, 'Zweiter „Bot“', 'zweiter', $2, $3, 'https://agent.example/a2a') returning id`, u.ID, hash, hint).Scan(&second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, second); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update conversations set turn_policy = 'reject' where id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	got, err := db.SendTargetFor(ctx, conv, u.ID)
	if err != nil || got.Kind != "group" || got.Policy != "reject" || len(got.Agents) != 2 ||
		got.Agents[0] != (store.RelayAgent{ID: first, Name: "Echo Bot", Handle: "echo-bot"}) ||
		got.Agents[1] != (store.RelayAgent{ID: second, Name: "Zweiter „Bot“", Handle: "zweiter", A2AEndpoint: "https://agent.example/a2a"}) {
		t.Fatalf("SendTargetFor = %+v, %v", got, err)
	}
	for _, c := range []struct{ conv, user string }{{conv, eve.ID}, {"no-such-conversation", u.ID}} {
		if _, err := db.SendTargetFor(ctx, c.conv, c.user); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("SendTargetFor(%s, %s) = %v, want ErrNotFound", c.conv, c.user, err)
		}
	}
}

// A send checks, in its transaction, that the sender's session lives: after
// sign-out (or expiry) nothing is stored; a retry of a stored send is
// answered with what was stored, not stored again.
func TestSendChecksTheSessionAndAnswersRetries(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "ada")
	conv, agent := chatFixture(t, db, "direct", u)
	var session string
	if err := db.Pool.QueryRow(ctx, `select id from "session" where token = $1`, u.Token).Scan(&session); err != nil {
		t.Fatal(err)
	}
	in := store.NewUserMessage{UserID: u.ID, ConversationID: conv, Content: "hallo", ClientMessageID: "s-1",
		ReplyAgentIDs: []string{agent}, SessionID: session}
	first, err := db.InsertUserMessage(ctx, in)
	if err != nil || !first.Created || len(first.Replies) != 1 {
		t.Fatalf("send = %+v, %v", first, err)
	}
	again, err := db.InsertUserMessage(ctx, in)
	if err != nil || again.Created || again.Message.ID != first.Message.ID || len(again.Replies) != 1 || again.Replies[0].ID != first.Replies[0].ID {
		t.Fatalf("retry = %+v, %v", again, err)
	}
	if _, err := db.Pool.Exec(ctx, `update "session" set "expiresAt" = now() - interval '1 second' where id = $1`, session); err != nil {
		t.Fatal(err)
	}
	in.ClientMessageID = "s-2"
	if _, err := db.InsertUserMessage(ctx, in); !errors.Is(err, store.ErrSessionEnded) {
		t.Fatalf("send on an expired session = %v, want ErrSessionEnded", err)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `select count(*) from messages where conversation_id = $1`, conv).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d messages stored (%v), want the first send's 2", n, err)
	}
}
