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
