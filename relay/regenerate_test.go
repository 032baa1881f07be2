package main

import (
	"context"
	"slices"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Regenerate (PROTOCOL.md section 10), across two relay instances: the
// asking socket on one, the agent's and another socket of the user on the
// other.

// regenerate sends a regenerate frame and returns its answer: the
// regenerate_ack, or the error frame whose ref is messageID.
func (p *peer) regenerate(conv, messageID string) frame {
	p.t.Helper()
	p.send(map[string]any{"type": "regenerate", "conversationId": conv, "messageId": messageID})
	return p.expectWhere("", func(f frame) bool {
		return (f.str("type") == "regenerate_ack" && f.str("messageId") == messageID) ||
			(f.str("type") == "error" && f.str("ref") == messageID)
	})
}

// answered sends a message, has the agent answer it with text, and returns
// the message's and the reply's ids once every socket saw the end.
func answered(t *testing.T, sender, agent *peer, others []*peer, conv, content, clientID, text string) (msgID, replyID string) {
	t.Helper()
	ack := sender.sendMessage(conv, content, clientID)
	task := agent.expect("task")
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": text})
	for _, p := range append([]*peer{sender}, others...) {
		p.collect(task.str("messageId"), nil)
	}
	return ack.obj("message").str("id"), task.str("messageId")
}

func TestRegenerateStreamsANewVersion(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	msg, first := answered(t, onA, agent, []*peer{onB}, w.conv, "Erzähl einen Witz", "g-1", "Version eins")

	ack := onA.regenerate(w.conv, msg)
	if ack.str("type") != "regenerate_ack" || ack.num("version") != 2 || ack.str("previousId") != first ||
		ack.str("replyToId") != msg || ack["queued"] != false || ack.obj("reply").str("agentId") != w.agentID {
		t.Fatalf("regenerate answer = %v", ack)
	}
	second := ack.obj("reply").str("messageId")
	task := agent.expect("task")
	rg := task.obj("regenerate")
	if task.str("messageId") != second || task.obj("message").str("id") != msg ||
		rg.num("version") != 2 || rg.str("previousReplyId") != first || rg.str("previousContent") != "Version eins" {
		t.Fatalf("regenerate task = %v", task)
	}
	for _, h := range task["history"].([]any) {
		if h.(map[string]any)["content"] == "Version eins" {
			t.Fatalf("the superseded version is in the task's history: %v", task["history"])
		}
	}
	for _, p := range []*peer{onA, onB} {
		s := p.expectWhere("stream_start", func(f frame) bool { return f.str("messageId") == second })
		if s.num("version") != 2 || s.str("previousId") != first || s.str("replyToId") != msg {
			t.Fatalf("stream_start of the new version = %v", s)
		}
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "Version ", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "zwei", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId")})
	for _, p := range []*peer{onA, onB} {
		if got := p.collect(second, nil); string(got.text) != "Version zwei" || got.ended.str("status") != "complete" {
			t.Fatalf("new version: %q %v", got.text, got.ended)
		}
	}

	// The old version stays; history shows the newest, listing both.
	if status, content := replyStatus(t, c.db, first); status != "complete" || content != "Version eins" {
		t.Fatalf("old version stored %s %q", status, content)
	}
	ctx := context.Background()
	page, err := c.db.MessagesPage(ctx, w.users[0].ID, w.conv, store.PageQuery{Mode: store.PageNewest, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range page.Items {
		ids = append(ids, m.ID)
		if m.ID == second && (m.Version != 2 || !slices.Equal(m.Versions, []string{first, second}) || m.Superseded) {
			t.Fatalf("newest version in history: %+v", m.Message)
		}
	}
	if !slices.Equal(ids, []string{msg, second}) {
		t.Fatalf("history = %v, want the message and the newest version", ids)
	}
	page, err = c.db.MessagesPage(ctx, w.users[0].ID, w.conv, store.PageQuery{Mode: store.PageNewest, Limit: 50, AllVersions: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 3 || page.Items[1].ID != first || !page.Items[1].Superseded || page.Items[1].Version != 1 ||
		!slices.Equal(page.Items[1].Versions, []string{first, second}) {
		t.Fatalf("history with every version = %+v", page.Items)
	}

	// The reply's id names the same answer: a third version.
	ack = onB.regenerate(w.conv, second)
	if ack.str("type") != "regenerate_ack" || ack.num("version") != 3 || ack.str("previousId") != second {
		t.Fatalf("regenerate by reply id = %v", ack)
	}
	third := agent.expect("task")
	if third.obj("regenerate").str("previousContent") != "Version zwei" {
		t.Fatalf("third task = %v", third)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": third.str("taskId"), "content": "drei"})
	onB.collect(third.str("messageId"), nil)
}

func TestRegenerateUnderTurnPolicies(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	// queue: a regenerate while the first answer streams waits behind it.
	ack := onA.sendMessage(w.conv, "Frage", "p-1")
	msg := ack.obj("message").str("id")
	first := agent.expect("task")
	rg := onB.regenerate(w.conv, msg)
	if rg.str("type") != "regenerate_ack" || rg["queued"] != true || rg.obj("reply").num("position") != 1 {
		t.Fatalf("regenerate behind an active reply = %v", rg)
	}
	// One regenerate at a time: a second one is refused, nothing stored.
	stored := messageCount(t, c, w.conv)
	if e := onA.regenerate(w.conv, msg); e.str("code") != "conversation_busy" {
		t.Fatalf("second regenerate under queue = %v", e)
	}
	if n := messageCount(t, c, w.conv); n != stored {
		t.Fatalf("%d messages after a refused regenerate, want %d", n, stored)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": first.str("taskId"), "content": "eins"})
	second := agent.expect("task")
	if second.str("messageId") != rg.obj("reply").str("messageId") || second.obj("regenerate").str("previousContent") != "eins" {
		t.Fatalf("queued regenerate's task = %v", second)
	}

	// reject: while that version streams, a regenerate is refused.
	setTurnPolicy(t, c, w.conv, "reject")
	if e := onA.regenerate(w.conv, msg); e.str("code") != "conversation_busy" {
		t.Fatalf("regenerate under reject = %v", e)
	}
	if n := messageCount(t, c, w.conv); n != stored {
		t.Fatalf("%d messages after a rejected regenerate, want %d", n, stored)
	}

	// interrupt: a new regenerate ends the streaming one (cancelled, with
	// its text so far, kept as a version) and starts at once.
	setTurnPolicy(t, c, w.conv, "interrupt")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": second.str("taskId"), "content": "zw", "mode": "delta"})
	onB.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == second.str("messageId") })
	onA.send(map[string]any{"type": "regenerate", "conversationId": w.conv, "messageId": msg})
	// The interrupted version's end (it goes first: one regenerate at a
	// time), the ack to the asking socket, then the new version's start.
	for _, p := range []*peer{onA, onB} {
		var end frame
		p.expectWhere("", func(f frame) bool {
			switch f.str("type") {
			case "stream_end":
				if f.str("messageId") == second.str("messageId") {
					end = f
				}
			case "regenerate_ack":
				rg = f
			}
			return f.str("type") == "stream_start" && f.str("messageId") != second.str("messageId")
		})
		if end.str("status") != "cancelled" || end.str("content") != "zw" {
			t.Fatalf("interrupted version's end = %v", end)
		}
	}
	if rg.str("type") != "regenerate_ack" || rg["queued"] != false || rg.num("version") != 3 || rg.str("previousId") != second.str("messageId") {
		t.Fatalf("regenerate under interrupt = %v", rg)
	}
	if tc := agent.expect("task_cancel"); tc.str("taskId") != second.str("taskId") || tc.str("reason") != "interrupted" {
		t.Fatalf("task_cancel = %v", tc)
	}
	third := agent.expect("task")
	if third.str("messageId") != rg.obj("reply").str("messageId") {
		t.Fatalf("task after the interrupt = %v", third)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": third.str("taskId"), "content": "drei"})
	onA.collect(third.str("messageId"), nil)
	var versions []int
	rows, err := c.db.Pool.Query(context.Background(), `select version from messages where reply_to_id = $1 order by seq`, msg)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	if !slices.Equal(versions, []int{1, 2, 3}) {
		t.Fatalf("versions stored = %v", versions)
	}
}

func TestRegenerateRefusals(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	older, olderReply := answered(t, onA, agent, nil, w.conv, "eins", "f-1", "1")
	last, _ := answered(t, onA, agent, nil, w.conv, "zwei", "f-2", "2")
	stored := messageCount(t, c, w.conv)

	// Only the answer to the latest message from a person: by message id
	// and by reply id alike.
	for _, id := range []string{older, olderReply} {
		if e := onA.regenerate(w.conv, id); e.str("code") != "forbidden" {
			t.Fatalf("regenerate of an earlier message (%s) = %v", id, e)
		}
	}
	// A stranger, an unknown id, and an id of another conversation look
	// the same: not_found.
	eve := testenv.NewUser(t, c.db, "Eve")
	onEve := dialClient(t, b, eve)
	if e := onEve.regenerate(w.conv, last); e.str("code") != "not_found" {
		t.Fatalf("non-member's regenerate = %v", e)
	}
	if e := onA.regenerate(w.conv, "d2f4b0e8-0000-4000-8000-000000000000"); e.str("code") != "not_found" {
		t.Fatalf("unknown message = %v", e)
	}
	evesAgent, _ := newAgent(t, c.db, eve, "Eve Bot")
	evesConv := newConversation(t, c.db, "direct", []testenv.TestUser{eve}, evesAgent)
	if e := onEve.regenerate(evesConv, last); e.str("code") != "not_found" {
		t.Fatalf("a message named in another conversation = %v", e)
	}
	// Checked at the boundary: a bad id is invalid_frame.
	onA.send(map[string]any{"type": "regenerate", "conversationId": w.conv, "messageId": "no{braces}"})
	if e := onA.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "messageId" {
		t.Fatalf("bad messageId = %v", e)
	}
	if n := messageCount(t, c, w.conv); n != stored {
		t.Fatalf("%d messages after refusals, want %d", n, stored)
	}
	agent.pingPast("task")
}
