package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// chunkText is the i-th piece of a reply: multi-byte UTF-8 of every width.
func chunkText(i int) string {
	return fmt.Sprintf("%d: grüße 東京 🙂 ", i)
}

func TestWholeFlowDeltaAndAccumulated(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	ack := client.sendMessage(w.conv, "Wie spät ist es in 東京?", "m-1")
	if ack["queued"] != false || ack.obj("message").num("seq") != 1 || ack.obj("message").str("content") != "Wie spät ist es in 東京?" {
		t.Fatalf("ack = %v", ack)
	}
	start := client.expect("stream_start")
	reply := start.str("messageId")
	if start.num("seq") != 2 || start.str("agentId") != w.agentID || start.str("conversationId") != w.conv {
		t.Fatalf("stream_start = %v", start)
	}
	task := agent.expect("task")
	if task.str("taskId") != reply || task.obj("message").str("content") != "Wie spät ist es in 東京?" || task.obj("message").obj("sender").str("name") != "Ada" {
		t.Fatalf("task = %v", task)
	}
	var sent strings.Builder
	var pieces []string
	for i := 0; i < 200; i++ {
		piece := chunkText(i)
		sent.WriteString(piece)
		pieces = append(pieces, piece)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": piece, "mode": "delta"})
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, nil)
	// The relay may merge chunks that arrive while it is sending earlier ones.
	if string(got.text) != sent.String() || got.chunks < 1 || got.chunks > 200 {
		t.Fatalf("assembled %d chunks, %d bytes; want 1 to 200, %d bytes", got.chunks, len(got.text), sent.Len())
	}
	if err := got.wholeChunks(pieces); err != nil {
		t.Fatal(err)
	}
	if got.ended.str("status") != "complete" || got.ended.str("content") != sent.String() {
		t.Fatalf("stream_end = %v", got.ended["status"])
	}
	if status, content := replyStatus(t, c.db, reply); status != "complete" || content != sent.String() {
		t.Fatalf("stored %s, %d bytes", status, len(content))
	}

	// Second reply, accumulated mode: each chunk is the whole text so far.
	client.sendMessage(w.conv, "Noch einmal", "m-2")
	reply2 := client.expect("stream_start").str("messageId")
	task2 := agent.expect("task")
	if task2.str("taskId") != reply2 || len(task2["history"].([]any)) != 2 {
		t.Fatalf("task 2 = %v", task2)
	}
	acc := ""
	for i := 0; i < 50; i++ {
		acc += chunkText(i)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": reply2, "content": acc, "mode": "accumulated"})
	}
	// Without mode, a chunk that extends the text is detected as accumulated.
	acc += "Ende ✓"
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply2, "content": acc})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply2, "content": acc})
	got = client.collect(reply2, nil)
	if string(got.text) != acc || got.ended.str("content") != acc {
		t.Fatalf("accumulated: assembled %q\nwant %q", got.text, acc)
	}
	if status, content := replyStatus(t, c.db, reply2); status != "complete" || content != acc {
		t.Fatalf("stored %s %q", status, content)
	}
}

func TestQueueAnswersInOrder(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "first", "q-0")
	first := agent.expect("task")
	for i := 1; i <= 3; i++ {
		ack := client.sendMessage(w.conv, fmt.Sprintf("message %d", i), fmt.Sprintf("q-%d", i))
		if ack["queued"] != true || ack.num("position") != int64(i) {
			t.Fatalf("ack %d = %v", i, ack)
		}
	}
	answer := func(task frame) {
		agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "re: " + task.obj("message").str("content"), "mode": "delta"})
		agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId")})
	}
	answer(first)
	if end := client.collect(first.str("taskId"), nil); end.ended.str("content") != "re: first" {
		t.Fatalf("first = %v", end.ended)
	}
	for i := 1; i <= 3; i++ {
		task := agent.expect("task")
		if want := fmt.Sprintf("message %d", i); task.obj("message").str("content") != want {
			t.Fatalf("task %d answers %q, want %q", i, task.obj("message").str("content"), want)
		}
		answer(task)
		// One at a time: the next reply starts (stream_start, published on
		// the same user channel) only after this one ended.
		id := task.str("taskId")
		end := client.expectWhere("", func(f frame) bool {
			if f.str("type") == "stream_start" && f.str("messageId") != id {
				t.Fatalf("reply %v started while %s streams", f, id)
			}
			return f.str("type") == "stream_end" && f.str("messageId") == id
		})
		if end.str("content") != "re: "+task.obj("message").str("content") {
			t.Fatalf("reply %d = %v", i, end)
		}
	}
}

func TestIdempotentSendStoresAndDispatchesOnce(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	a := dialClient(t, r, w.users[0])
	b := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	// Twice at once from two sockets, then once more later.
	msg := map[string]any{"type": "send_message", "conversationId": w.conv, "content": "only once", "clientMessageId": "dup-1"}
	a.send(msg)
	b.send(msg)
	ackA := a.expect("message_ack")
	ackB := b.expect("message_ack")
	again := a.sendMessage(w.conv, "only once", "dup-1")
	id := ackA.obj("message").str("id")
	if ackB.obj("message").str("id") != id || again.obj("message").str("id") != id || ackA.obj("message").num("seq") != 1 {
		t.Fatalf("acks differ: %v / %v / %v", ackA, ackB, again)
	}
	first := agent.expect("task")
	// A later message queues behind the reply; once that reply ends, its
	// task is the next one: a second dispatch of the first would come before.
	a.sendMessage(w.conv, "later", "dup-2")
	agent.send(map[string]any{"type": "agent_complete", "taskId": first.str("taskId"), "content": "ok"})
	if next := agent.expect("task"); next.obj("message").str("content") != "later" {
		t.Fatalf("second dispatch: %v", next)
	}
	var n int
	if err := c.db.Pool.QueryRow(t.Context(), `select count(*) from messages where conversation_id = $1`, w.conv).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("%d rows, want two messages and two replies", n)
	}
}

func TestFiftyConcurrentSendersGetSeqsOneToFifty(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	var users []testenv.TestUser
	for i := 0; i < 50; i++ {
		users = append(users, testenv.NewUser(t, c.db, fmt.Sprintf("u%d", i)))
	}
	conv := newConversation(t, c.db, "group", users) // no agents: plain messages
	peers := make([]*peer, len(users))
	for i, u := range users {
		peers[i] = dialClient(t, r, u)
	}
	for i, p := range peers {
		p.send(map[string]any{"type": "send_message", "conversationId": conv, "content": "hi", "clientMessageId": fmt.Sprintf("s-%d", i)})
	}
	seen := map[int64]bool{}
	for i, p := range peers {
		ack := p.expectWhere("message_ack", func(f frame) bool { return f.str("clientMessageId") == fmt.Sprintf("s-%d", i) })
		seen[ack.obj("message").num("seq")] = true
	}
	for s := int64(1); s <= 50; s++ {
		if !seen[s] {
			t.Fatalf("seq %d missing; got %v", s, seen)
		}
	}
}
