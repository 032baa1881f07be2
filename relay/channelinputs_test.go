package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Questions and approvals in community channels (PROTOCOL.md section 18,
// "Agents in channels"), through real relay processes on two instances.

func (p *peer) expectChannelInput(requestID string) frame {
	p.t.Helper()
	return p.expectWhere("channel_input_request", func(f frame) bool { return f.str("requestId") == requestID })
}

func (p *peer) expectChannelResolved(requestID string) frame {
	p.t.Helper()
	f := p.expectWhere("channel_input_resolved", func(f frame) bool { return f.obj("data").str("requestId") == requestID })
	return f
}

// requestIDs makes this run's request ids: they are unique among all
// requests, and the package's runs share one database.
func requestIDs() func(string) string {
	run := testenv.RandomID(6)
	return func(name string) string { return name + "-" + run }
}

func inputState(t *testing.T, db *store.DB, id string) string {
	t.Helper()
	var state string
	if err := db.Pool.QueryRow(context.Background(), `select state from input_requests where id = $1`, id).Scan(&state); err != nil {
		t.Fatal(err)
	}
	return state
}

// An agent on one instance asks a question in a channel: subscribers on
// both instances get channel_input_request once, a member who subscribes
// later finds it in channel_subscribed.stream, no silence timeout runs while
// it waits, an outsider's answer is not_found and a wrong one invalid_frame;
// the first valid answer wins (channel_input_resolved to every subscriber),
// the agent gets it once and goes on; then an approval asked while the
// agent's instance is SIGKILLed is answered over REST while the agent is
// away, and reaches it when it comes back on the other instance; a request
// still open when its reply ends closes with it.
func TestChannelQuestionAcrossInstances(t *testing.T) {
	w := newChannelWorld(t, map[string]string{"RELAY_AGENT_IDLE_TIMEOUT": "2s", "RELAY_AGENT_FIRST_CHUNK_TIMEOUT": "2s",
		"RELAY_ACTIVE_TTL": "3s"})
	q := requestIDs()
	ctx := context.Background()
	echoID, echoToken := w.agent(t, "Echo Bot", true, true)
	echo := dialAgent(t, w.b, echoToken)
	carl := testenv.NewUser(t, w.c.db, "Carl")
	if _, err := w.c.db.JoinCommunity(ctx, carl.ID, w.comm); err != nil {
		t.Fatal(err)
	}
	eve := testenv.NewUser(t, w.c.db, "Eve") // not in the community
	pa, pb := dialClient(t, w.a, w.ada), dialClient(t, w.b, w.bob)
	pe := dialClient(t, w.a, eve)
	subscribeChannel(t, pa, w.general)
	subscribeChannel(t, pb, w.general)

	sent := w.say(t, w.bob, "@echo-bot reservier einen Tisch")
	reply := sent.Replies[0].ID
	if task := echo.expect("task"); task.str("taskId") != reply {
		t.Fatalf("task = %v", task)
	}
	echo.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Moment, ", "mode": "delta"})
	echo.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": q("cq-1"), "kind": "question",
		"prompt": "Welche Uhrzeit?", "options": []string{"18:00", "19:30"}})
	for _, p := range []*peer{pa, pb} {
		a := &assembler{}
		if err := a.apply(p.expectWhere("channel_stream_chunk", func(f frame) bool { return f.str("messageId") == reply })); err != nil {
			t.Fatal(err)
		}
		f := p.expectChannelInput(q("cq-1"))
		if f.str("channelId") != w.general || f.str("messageId") != reply || f.str("agentId") != echoID || f.str("kind") != "question" ||
			f.str("prompt") != "Welche Uhrzeit?" || len(f["options"].([]any)) != 2 || f.str("expiresAt") == "" {
			t.Fatalf("channel_input_request = %v", f)
		}
	}
	if status, _, _ := channelReplyRow(t, w.c.db, reply); status != "waiting_input" {
		t.Fatalf("the reply is %s while it waits", status)
	}
	// Past the silence timeouts: the reply still waits.
	time.Sleep(4 * time.Second)
	pa.pingPast("channel_stream_end")
	pc := dialClient(t, w.a, carl)
	sub := subscribeChannel(t, pc, w.general)
	if st := sub.obj("stream"); st.str("messageId") != reply || st.str("content") != "Moment, " ||
		st.obj("inputRequest").str("requestId") != q("cq-1") || st.obj("inputRequest").str("prompt") != "Welche Uhrzeit?" {
		t.Fatalf("channel_subscribed.stream = %v", st)
	}

	pe.send(map[string]any{"type": "input_response", "requestId": q("cq-1"), "answer": "18:00"})
	if e := pe.expect("error"); e.str("code") != "not_found" || e.str("ref") != q("cq-1") {
		t.Fatalf("an outsider's answer got %v", e)
	}
	pa.send(map[string]any{"type": "input_response", "requestId": q("cq-1"), "answer": "20:00"})
	if e := pa.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "answer" {
		t.Fatalf("an answer not among the options got %v", e)
	}
	pc.send(map[string]any{"type": "input_response", "requestId": q("cq-1"), "answer": "19:30"})
	for _, p := range []*peer{pa, pb, pc} {
		ev := p.expectChannelResolved(q("cq-1"))
		d := ev.obj("data")
		if ev.str("channelId") != w.general || d.str("state") != "answered" || d.str("answer") != "19:30" ||
			d.str("answeredBy") != carl.ID || d.str("messageId") != reply {
			t.Fatalf("channel_input_resolved = %v", ev)
		}
	}
	if f := echo.expect("input_response"); f.str("taskId") != reply || f.str("requestId") != q("cq-1") || f.str("answer") != "19:30" || f.str("userId") != carl.ID {
		t.Fatalf("input_response = %v", f)
	}
	pa.send(map[string]any{"type": "input_response", "requestId": q("cq-1"), "answer": "18:00"})
	if e := pa.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("a second answer got %v", e)
	}
	// The delivery is recorded just after the write: the reply streams again.
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		status, _, _ := channelReplyRow(t, w.c.db, reply)
		if status == "streaming" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reply is %s after its answer reached the agent", status)
		}
	}

	// An approval; the agent's instance dies while it waits. The answer,
	// given over REST meanwhile, reaches the agent on the other instance.
	echo.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": q("cq-2"), "kind": "approval",
		"prompt": "Für 19:30 reservieren?"})
	pa.expectChannelInput(q("cq-2"))
	w.b.kill(t)
	time.Sleep(5 * time.Second) // past RELAY_ACTIVE_TTL: the survivor's sweeper holds the mark
	pa.pingPast("channel_stream_end")
	no := false
	if _, err := answerer(t, w.c).Answer(ctx, w.ada.ID, q("cq-2"), nil, &no); err != nil {
		t.Fatal(err)
	}
	if d := pa.expectChannelResolved(q("cq-2")).obj("data"); d.str("state") != "answered" || d["approved"] != false {
		t.Fatalf("channel_input_resolved = %v", d)
	}
	echo2 := dialAgent(t, w.a, echoToken)
	if f := echo2.expect("input_response"); f.str("requestId") != q("cq-2") || f["approved"] != false || f.str("userId") != w.ada.ID {
		t.Fatalf("input_response after reconnecting = %v", f)
	}
	// A request still open when its reply ends closes with it.
	echo2.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": q("cq-3"), "kind": "question", "prompt": "Noch was?"})
	pa.expectChannelInput(q("cq-3")) // stored: a socket that subscribes now is shown it
	pb2 := dialClient(t, w.a, w.bob)
	if sub := subscribeChannel(t, pb2, w.general); sub.obj("stream").obj("inputRequest").str("requestId") != q("cq-3") {
		t.Fatalf("channel_subscribed = %v", sub)
	}
	echo2.send(map[string]any{"type": "agent_complete", "taskId": reply, "content": "Moment, dann nicht."})
	got := collectChannel(pa, reply, &assembler{text: []byte("Moment, ")})
	if end := got.ended; string(got.text) != "Moment, dann nicht." || end.str("status") != "complete" || end.str("content") != "Moment, dann nicht." {
		t.Fatalf("assembled %q, channel_stream_end = %v", got.text, end)
	}
	pb2.send(map[string]any{"type": "input_response", "requestId": q("cq-3"), "answer": "nein"})
	if e := pb2.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("an answer after the reply ended got %v", e)
	}
	if s := inputState(t, w.c.db, q("cq-3")); s != "cancelled" {
		t.Fatalf("the request is %s after its reply ended", s)
	}
	_, err := answerer(t, w.c).Answer(ctx, w.bob.ID, q("cq-3"), new(string), nil)
	var closed *store.InputClosed
	if !errors.As(err, &closed) {
		t.Fatalf("REST answer after the end: %v", err)
	}
	echo2.pingPast("input_response") // each answer once
}

// A channel question nobody answers expires (channel_input_resolved
// expired, input_timeout to the agent, later answers refused) and the reply
// goes on.
func TestChannelQuestionExpires(t *testing.T) {
	w := newChannelWorld(t, map[string]string{"INPUT_REQUEST_TTL": "1s"})
	q := requestIDs()
	_, echoToken := w.agent(t, "Echo Bot", true, true)
	echo := dialAgent(t, w.a, echoToken)
	pb := dialClient(t, w.b, w.bob)
	subscribeChannel(t, pb, w.general)
	reply := w.say(t, w.bob, "@echo-bot frag mich").Replies[0].ID
	echo.expect("task")
	echo.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": q("cq-ex"), "kind": "question",
		"prompt": "Welche Farbe?", "schema": map[string]any{"type": "string"}})
	if f := pb.expectChannelInput(q("cq-ex")); f.obj("schema").str("type") != "string" {
		t.Fatalf("channel_input_request = %v", f)
	}
	if d := pb.expectChannelResolved(q("cq-ex")).obj("data"); d.str("state") != "expired" || d["answeredBy"] != nil {
		t.Fatalf("channel_input_resolved = %v", d)
	}
	if f := echo.expect("input_timeout"); f.str("taskId") != reply || f.str("requestId") != q("cq-ex") {
		t.Fatalf("input_timeout = %v", f)
	}
	pb.send(map[string]any{"type": "input_response", "requestId": q("cq-ex"), "answer": `"blau"`})
	if e := pb.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("an answer after the expiry got %v", e)
	}

	echo.send(map[string]any{"type": "agent_complete", "taskId": reply, "content": "Dann blau."})
	if end := collectChannel(pb, reply, nil).ended; end.str("status") != "complete" || end.str("content") != "Dann blau." {
		t.Fatalf("channel_stream_end = %v", end)
	}
	echo.pingPast("input_timeout")
}

// An agent without a socket is not asked in a channel: its A2A task that
// ends input-required ends the channel reply complete with the text it
// wrote (the question), and no request is stored.
func TestChannelA2AQuestionEndsTheReply(t *testing.T) {
	w := newChannelWorld(t, nil)
	ctx := context.Background()
	base := startA2APeer(t, "v1")
	id, _ := w.agent(t, "Asker", true, true)
	if _, err := w.c.db.Pool.Exec(ctx, `update agents set a2a_endpoint = $2 where id = $1`, id, base+"/open"); err != nil {
		t.Fatal(err)
	}
	pa := dialClient(t, w.a, w.ada)
	subscribeChannel(t, pa, w.general)
	reply := w.say(t, w.ada, "ask please, @asker").Replies[0].ID
	got := collectChannel(pa, reply, nil)
	if end := got.ended; end.str("status") != "complete" || end.str("content") != "Which city?" || string(got.text) != "Which city?" {
		t.Fatalf("assembled %q, channel_stream_end = %v", got.text, end)
	}
	pa.pingPast("channel_input_request")
	var n int
	if err := w.c.db.Pool.QueryRow(ctx, `select count(*) from input_requests where channel_reply_id = $1`, reply).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d requests stored (%v)", n, err)
	}
}

// cancel_stream on a channel reply: the person it answers, or an admin of
// the community, may cancel it; another member gets forbidden, an outsider
// not_found. A queued reply leaves the queue, empty; a streaming one keeps
// the text shown so far and its agent gets task_cancel.
func TestChannelReplyCancel(t *testing.T) {
	w := newChannelWorld(t, nil)
	ctx := context.Background()
	_, echoToken := w.agent(t, "Echo Bot", true, true)
	echo := dialAgent(t, w.b, echoToken)
	carl := testenv.NewUser(t, w.c.db, "Carl")
	if _, err := w.c.db.JoinCommunity(ctx, carl.ID, w.comm); err != nil {
		t.Fatal(err)
	}
	eve := testenv.NewUser(t, w.c.db, "Eve")
	pa, pb := dialClient(t, w.a, w.ada), dialClient(t, w.b, w.bob)
	pc, pe := dialClient(t, w.a, carl), dialClient(t, w.a, eve)
	subscribeChannel(t, pa, w.general)

	r1 := w.say(t, w.bob, "@echo-bot eins").Replies[0].ID
	r2 := w.say(t, w.bob, "@echo-bot zwei").Replies[0].ID
	echo.expectWhere("task", func(f frame) bool { return f.str("taskId") == r1 })
	pc.send(map[string]any{"type": "cancel_stream", "messageId": r1})
	if e := pc.expect("error"); e.str("code") != "forbidden" || e.str("ref") != r1 {
		t.Fatalf("another member's cancel got %v", e)
	}
	pe.send(map[string]any{"type": "cancel_stream", "messageId": r1})
	if e := pe.expect("error"); e.str("code") != "not_found" {
		t.Fatalf("an outsider's cancel got %v", e)
	}
	// The queued one: gone from the queue, ended empty.
	pb.send(map[string]any{"type": "cancel_stream", "messageId": r2})
	if end := pa.expectWhere("channel_stream_end", func(f frame) bool { return f.str("messageId") == r2 }); end.str("status") != "cancelled" ||
		end.str("content") != "" || end.num("seq") != 0 {
		t.Fatalf("the queued reply's end = %v", end)
	}
	// The streaming one keeps what was shown.
	echo.send(map[string]any{"type": "agent_chunk", "taskId": r1, "content": "Eins, zwei, ", "mode": "delta"})
	pa.expectWhere("channel_stream_chunk", func(f frame) bool { return f.str("messageId") == r1 })
	pb.send(map[string]any{"type": "cancel_stream", "messageId": r1})
	end := pa.expectWhere("channel_stream_end", func(f frame) bool { return f.str("messageId") == r1 })
	if end.str("status") != "cancelled" || end.str("content") != "Eins, zwei, " || end.num("seq") == 0 {
		t.Fatalf("the streaming reply's end = %v", end)
	}
	if tc := echo.expect("task_cancel"); tc.str("taskId") != r1 || tc.str("reason") != "user_cancelled" {
		t.Fatalf("task_cancel = %v", tc)
	}
	echo.pingPast("task") // r2 never started
	for id, want := range map[string]string{r1: "cancelled", r2: "cancelled"} {
		if status, _, _ := channelReplyRow(t, w.c.db, id); status != want {
			t.Fatalf("reply %s is %s", id, status)
		}
	}
	// An admin cancels a member's reply.
	r3 := w.say(t, w.bob, "@echo-bot drei").Replies[0].ID
	echo.expectWhere("task", func(f frame) bool { return f.str("taskId") == r3 })
	pa.send(map[string]any{"type": "cancel_stream", "messageId": r3})
	if end := pa.expectWhere("channel_stream_end", func(f frame) bool { return f.str("messageId") == r3 }); end.str("status") != "cancelled" {
		t.Fatalf("the admin's cancel ended %v", end)
	}
}
