package main

import (
	"context"
	"testing"
)

// Turn policies (PROTOCOL.md section 10), each across two relay instances:
// the sender's socket on one, the agent's and another socket of the user on
// the other.

func setTurnPolicy(t *testing.T, c *cluster, conv, policy string) {
	t.Helper()
	if _, err := c.db.Pool.Exec(context.Background(), `update conversations set turn_policy = $2 where id = $1`, conv, policy); err != nil {
		t.Fatal(err)
	}
}

func messageCount(t *testing.T, c *cluster, conv string) int {
	t.Helper()
	var n int
	if err := c.db.Pool.QueryRow(context.Background(), `select count(*) from messages where conversation_id = $1`, conv).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTurnPolicyQueueAcrossInstances(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	setTurnPolicy(t, c, w.conv, "queue")
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	onA.sendMessage(w.conv, "eins", "q-1")
	first := agent.expect("task").str("taskId")
	ack := onB.sendMessage(w.conv, "zwei", "q-2")
	if ack["queued"] != true || ack.num("position") != 1 {
		t.Fatalf("second send under queue: %v", ack)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": first, "content": "eins!"})
	second := agent.expect("task")
	if second.obj("message").str("content") != "zwei" {
		t.Fatalf("next task = %v", second)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": second.str("taskId"), "content": "zwei!"})
	for _, p := range []*peer{onA, onB} {
		if got := p.collect(second.str("taskId"), nil); got.ended.str("status") != "complete" || got.ended.str("content") != "zwei!" {
			t.Fatalf("stream_end = %v", got.ended)
		}
	}
}

func TestTurnPolicyRejectAcrossInstances(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	setTurnPolicy(t, c, w.conv, "reject")
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	if ack := onA.sendMessage(w.conv, "eins", "r-1"); ack["queued"] != false {
		t.Fatalf("first send = %v", ack)
	}
	task := agent.expect("task").str("taskId")
	stored := messageCount(t, c, w.conv) // the message and its reply
	// While the reply is written, sends on either instance are refused and
	// store nothing.
	for i, p := range []*peer{onA, onB} {
		id := []string{"r-2", "r-3"}[i]
		p.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "noch eins", "clientMessageId": id})
		e := p.expectWhere("error", func(f frame) bool { return f.str("ref") == id })
		if e.str("code") != "conversation_busy" {
			t.Fatalf("refused send = %v", e)
		}
	}
	if n := messageCount(t, c, w.conv); n != stored {
		t.Fatalf("%d messages after refused sends, want %d", n, stored)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": task, "content": "fertig"})
	onA.collect(task, nil)
	onB.collect(task, nil)

	// Idle again: a send is taken; of two sent at once on both instances,
	// exactly one is stored.
	if ack := onB.sendMessage(w.conv, "jetzt", "r-4"); ack["queued"] != false {
		t.Fatalf("send after the end = %v", ack)
	}
	task = agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_complete", "taskId": task, "content": "ok"})
	onA.collect(task, nil)
	onB.collect(task, nil)
	before := messageCount(t, c, w.conv)
	onA.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "A", "clientMessageId": "r-5"})
	onB.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "B", "clientMessageId": "r-6"})
	acks, refusals := 0, 0
	for i, p := range []*peer{onA, onB} {
		id := []string{"r-5", "r-6"}[i]
		f := p.expectWhere("", func(f frame) bool {
			return (f.str("type") == "message_ack" || f.str("type") == "error") && f.str("clientMessageId")+f.str("ref") == id
		})
		switch {
		case f.str("type") == "message_ack":
			acks++
		case f.str("code") == "conversation_busy":
			refusals++
		default:
			t.Fatalf("answer to %s: %v", id, f)
		}
	}
	if acks != 1 || refusals != 1 {
		t.Fatalf("two sends at once: %d stored, %d refused", acks, refusals)
	}
	if n := messageCount(t, c, w.conv); n != before+2 { // one message, one reply
		t.Fatalf("%d messages after the race, want %d", n, before+2)
	}
}

func TestTurnPolicyInterruptAcrossInstances(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	// A reply streaming and one queued (policy queue), then the policy
	// becomes interrupt and a new message arrives.
	onA.sendMessage(w.conv, "erzähl", "i-1")
	active := agent.expect("task").str("taskId")
	queued := onA.sendMessage(w.conv, "und dann?", "i-2")
	if queued["queued"] != true {
		t.Fatalf("queued send = %v", queued)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": active, "content": "Es war einmal ", "mode": "delta"})
	onB.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == active })
	var queuedReply string
	if err := c.db.Pool.QueryRow(context.Background(), `select r.id from messages r join messages m on m.id = r.reply_to_id
		where m.client_message_id = 'i-2'`).Scan(&queuedReply); err != nil {
		t.Fatal(err)
	}
	setTurnPolicy(t, c, w.conv, "interrupt")

	ack := onA.sendMessage(w.conv, "stopp, etwas anderes", "i-3")
	if ack["queued"] != false {
		t.Fatalf("interrupting send = %v", ack)
	}
	// Both ends, and the new reply's start after them, reach every socket.
	for _, p := range []*peer{onA, onB} {
		ends := map[string]frame{}
		p.expectWhere("", func(f frame) bool {
			if f.str("type") == "stream_end" {
				ends[f.str("messageId")] = f
			}
			return f.str("type") == "stream_start" && f.str("messageId") != active
		})
		if e := ends[active]; e.str("status") != "cancelled" || e.str("content") != "Es war einmal " {
			t.Fatalf("interrupted reply's stream_end = %v", e)
		}
		if e := ends[queuedReply]; e.str("status") != "cancelled" || e.str("content") != "" {
			t.Fatalf("dropped reply's stream_end = %v", e)
		}
	}
	tc := agent.expect("task_cancel")
	if tc.str("taskId") != active || tc.str("reason") != "interrupted" {
		t.Fatalf("task_cancel = %v", tc)
	}
	// The new message's reply is the next task; the queued one never starts.
	next := agent.expect("task")
	if next.obj("message").str("content") != "stopp, etwas anderes" {
		t.Fatalf("next task = %v", next)
	}
	for id, want := range map[string][2]string{active: {"cancelled", "Es war einmal "}, queuedReply: {"cancelled", ""}} {
		if status, content := replyStatus(t, c.db, id); status != want[0] || content != want[1] {
			t.Fatalf("reply %s stored %s %q, want %v", id, status, content, want)
		}
	}
	// Chunks of the interrupted task are dropped; the new one streams.
	agent.send(map[string]any{"type": "agent_chunk", "taskId": active, "content": "spät", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_chunk", "taskId": next.str("taskId"), "content": "Gern.", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": next.str("taskId")})
	for _, p := range []*peer{onA, onB} {
		if got := p.collect(next.str("taskId"), nil); string(got.text) != "Gern." || got.ended.str("status") != "complete" {
			t.Fatalf("new reply: %q %v", got.text, got.ended)
		}
	}
	if status, content := replyStatus(t, c.db, active); status != "cancelled" || content != "Es war einmal " {
		t.Fatalf("interrupted reply changed after a late chunk: %s %q", status, content)
	}
}
