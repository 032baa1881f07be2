package main

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// Decisions of PROTOCOL.md that an outside client author asked about
// (issue 21), each checked against the relay as it runs.

// A clientMessageId belongs to the user, not to a conversation: reusing it
// in the same conversation is a retry (the same message), reusing it in
// another is refused with client_message_id_in_use and stores nothing.
func TestClientMessageIDScopeIsTheUser(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	first := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob})
	second := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob})
	p := dialClient(t, r, ada)

	ack := p.sendMessage(first, "hallo", "n-1")
	again := p.sendMessage(first, "hallo", "n-1")
	if again.obj("message").str("id") != ack.obj("message").str("id") {
		t.Fatalf("a retry in the same conversation got another message: %v / %v", ack, again)
	}
	p.send(map[string]any{"type": "send_message", "conversationId": second, "content": "hallo dort", "clientMessageId": "n-1"})
	e := p.expectWhere("", func(f frame) bool { return f.str("type") == "error" || f.str("type") == "message_ack" })
	if e.str("type") != "error" || e.str("code") != "client_message_id_in_use" || e.str("field") != "clientMessageId" || e.str("ref") != "n-1" {
		t.Fatalf("reuse in another conversation answered %v", e)
	}
	var n int
	if err := c.db.Pool.QueryRow(t.Context(), `select count(*) from messages where conversation_id = $1`, second).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d messages stored in the second conversation", n)
	}
	// A new id goes through.
	if ack := p.sendMessage(second, "hallo dort", "n-2"); ack.obj("message").str("conversationId") != second {
		t.Fatalf("ack = %v", ack)
	}
}

// message_ack names every reply a message asks for, with its queue position,
// so a client can cancel a queued reply before its stream_start.
func TestAckNamesRepliesSoAQueuedOneCanBeCancelled(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	echo, echoToken := newAgent(t, c.db, ada, "Echo Bot")
	cal, calToken := newAgent(t, c.db, ada, "Cal")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada}, echo, cal)
	p := dialClient(t, r, ada)
	echoPeer := dialAgent(t, r, echoToken)
	calPeer := dialAgent(t, r, calToken)

	replies := func(ack frame) []frame {
		list, _ := ack["replies"].([]any)
		out := make([]frame, len(list))
		for i, e := range list {
			out[i], _ = e.(map[string]any)
		}
		return out
	}
	// Two agents addressed: the first starts now, the second waits first in line.
	ack := p.sendMessage(conv, "@echo-bot @cal hallo", "q-1")
	rs := replies(ack)
	if len(rs) != 2 || rs[0].str("agentId") != echo || rs[0]["position"] != nil || rs[1].str("agentId") != cal || rs[1].num("position") != 1 {
		t.Fatalf("ack replies = %v", ack["replies"])
	}
	if ack["queued"] != false {
		t.Fatalf("ack = %v", ack)
	}
	started := p.expect("stream_start")
	if started.str("messageId") != rs[0].str("messageId") {
		t.Fatalf("stream_start %v, ack named %v", started, rs[0])
	}
	echoPeer.expect("task")

	// A third reply queues behind both; its id from the ack cancels it.
	ack = p.sendMessage(conv, "@echo-bot noch etwas", "q-2")
	rs3 := replies(ack)
	if len(rs3) != 1 || rs3[0].num("position") != 2 || ack.num("position") != 2 || ack["queued"] != true {
		t.Fatalf("queued ack = %v", ack)
	}
	queued := rs3[0].str("messageId")
	p.send(map[string]any{"type": "cancel_stream", "messageId": queued})
	end := p.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == queued })
	if end.str("status") != "cancelled" {
		t.Fatalf("stream_end = %v", end)
	}
	if st, _ := replyStatus(t, c.db, queued); st != "cancelled" {
		t.Fatalf("cancelled reply is %s", st)
	}
	// A retry of that send names the reply again, no longer waiting.
	again := p.sendMessage(conv, "@echo-bot noch etwas", "q-2")
	if rs := replies(again); len(rs) != 1 || rs[0].str("messageId") != queued || rs[0]["position"] != nil || again["queued"] != false {
		t.Fatalf("retried ack = %v", again)
	}

	// The queue goes on with the second agent's reply; the cancelled one
	// never reaches its agent.
	echoPeer.send(map[string]any{"type": "agent_complete", "taskId": rs[0].str("messageId"), "content": "eins"})
	task := calPeer.expect("task")
	if task.str("messageId") != rs[1].str("messageId") {
		t.Fatalf("task = %v", task)
	}
	calPeer.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": "zwei"})
	p.collect(rs[1].str("messageId"), nil)
	echoPeer.pingPast("task")
}
