package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Endings of replies and of sends that PROTOCOL.md sections 4, 9, 10 and 12
// promise, each through a real relay process.

// countAll counts every message (user messages and replies) in conv.
func countAll(t *testing.T, c *cluster, conv string) int {
	t.Helper()
	var n int
	if err := c.db.Pool.QueryRow(t.Context(), `select count(*) from messages where conversation_id = $1`, conv).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A conversation with 20 replies waiting refuses the next send with
// conversation_busy and stores nothing; once the queue moves, the same
// clientMessageId is accepted.
func TestConversationBusyStoresNothing(t *testing.T) {
	// The send limit's burst is raised so that only the queue bound refuses.
	c := newCluster(t, map[string]string{"RATE_LIMIT_SEND_BURST": "100", "RATE_LIMIT_SEND_PER_MINUTE": "600"})
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "streams", "busy-0")
	first := agent.expect("task").str("taskId")
	for i := 1; i <= 20; i++ {
		ack := client.sendMessage(w.conv, fmt.Sprintf("waits %d", i), fmt.Sprintf("busy-%d", i))
		if ack["queued"] != true || ack.num("position") != int64(i) {
			t.Fatalf("send %d: ack = %v, want queued at %d", i, ack, i)
		}
	}
	stored := countAll(t, c, w.conv)
	if stored != 42 {
		t.Fatalf("%d messages stored, want 21 sends and their 21 replies", stored)
	}
	client.send(map[string]any{"type": "send_message", "conversationId": w.conv, "content": "one too many", "clientMessageId": "busy-21"})
	e := client.expectWhere("", func(f frame) bool { return f.str("type") == "error" || f.str("type") == "message_ack" })
	if e.str("type") != "error" || e.str("code") != "conversation_busy" || e.str("ref") != "busy-21" {
		t.Fatalf("21st waiting send answered %v, want error conversation_busy", e)
	}
	if n := countAll(t, c, w.conv); n != stored {
		t.Fatalf("%d messages stored after the refusal, want %d", n, stored)
	}
	// The refused message is not a message at all: no one heard of it.
	client.pingPast("message_ack")

	// The streaming reply ends, a waiting one starts: there is room again.
	agent.send(map[string]any{"type": "agent_complete", "taskId": first, "content": "done"})
	if got := client.collect(first, nil); got.ended.str("status") != "complete" {
		t.Fatalf("first reply = %v", got.ended)
	}
	agent.expect("task")
	ack := client.sendMessage(w.conv, "one too many", "busy-21")
	if ack["queued"] != true || ack.num("position") != 20 || ack.obj("message").num("seq") != 43 {
		t.Fatalf("retry after the queue moved: ack = %v, want queued at 20 with seq 43", ack)
	}
}

// cancel_stream on a reply that waits in the queue: it leaves the queue and
// ends cancelled with empty content, its stream_end without a stream_start;
// the agent never gets its task, and the reply behind it moves up.
func TestCancelQueuedReply(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "eins", "cq-1")
	active := client.expect("stream_start").str("messageId")
	agent.expect("task")
	replyOf := func(ack frame) string {
		t.Helper()
		list, _ := ack["replies"].([]any)
		if len(list) != 1 {
			t.Fatalf("ack = %v, want one reply named", ack)
		}
		return frame(list[0].(map[string]any)).str("messageId")
	}
	doomed := replyOf(client.sendMessage(w.conv, "zwei", "cq-2"))
	queuedAck := client.sendMessage(w.conv, "drei", "cq-3")
	if queuedAck.num("position") != 2 {
		t.Fatalf("third ack = %v, want position 2", queuedAck)
	}
	behind := replyOf(queuedAck)

	client.send(map[string]any{"type": "cancel_stream", "messageId": doomed})
	end := client.expectWhere("", func(f frame) bool {
		if f.str("type") == "stream_start" && f.str("messageId") == doomed {
			t.Fatalf("the cancelled queued reply started: %v", f)
		}
		return f.str("type") == "stream_end" && f.str("messageId") == doomed
	})
	if end.str("status") != "cancelled" || end.str("content") != "" || end["error"] != nil {
		t.Fatalf("stream_end = %v, want cancelled and empty", end)
	}
	if status, content := replyStatus(t, c.db, doomed); status != "cancelled" || content != "" {
		t.Fatalf("stored %s %q", status, content)
	}
	// The reply behind it moved up: a retry of its send reports position 1.
	if ack := client.sendMessage(w.conv, "drei", "cq-3"); ack["queued"] != true || ack.num("position") != 1 {
		t.Fatalf("retried third ack = %v, want queued at 1", ack)
	}
	// Cancelling it again is ignored: no answer before the pong.
	client.send(map[string]any{"type": "cancel_stream", "messageId": doomed})
	client.pingPast("error")

	// The active reply is untouched; when it ends, the reply behind the
	// cancelled one is the next task, and the cancelled one never is.
	agent.send(map[string]any{"type": "agent_complete", "taskId": active, "content": "eins!"})
	if got := client.collect(active, nil); got.ended.str("status") != "complete" || got.ended.str("content") != "eins!" {
		t.Fatalf("active reply = %v", got.ended)
	}
	if task := agent.expect("task"); task.str("taskId") != behind {
		t.Fatalf("next task = %v, want %s (the cancelled %s must not start)", task, behind, doomed)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": behind, "content": "drei!"})
	if got := client.collect(behind, nil); got.ended.str("status") != "complete" {
		t.Fatalf("last reply = %v", got.ended)
	}
	agent.pingPast("task")
}

// An agent whose reply passes 256 KiB: the reply ends in error
// reply_too_large with the text it had, and the agent gets task_cancel.
func TestReplyTooLarge(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "schreib viel", "big-1")
	reply := agent.expect("task").str("taskId")
	// 200 KiB of multi-byte text, then 100 KiB more.
	head := strings.Repeat("grüße 東京 🙂 ", (200<<10)/len("grüße 東京 🙂 "))
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": head, "mode": "delta"})
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": strings.Repeat("x", 100<<10), "mode": "delta"})
	got := client.collect(reply, nil)
	if e := got.ended.obj("error"); got.ended.str("status") != "error" || e.str("code") != "reply_too_large" || got.ended.str("content") != head {
		t.Fatalf("stream_end: status %s, error %v, %d bytes of content; want reply_too_large with the %d bytes before",
			got.ended.str("status"), got.ended["error"], len(got.ended.str("content")), len(head))
	}
	if string(got.text) != head {
		t.Fatalf("the client assembled %d bytes, want %d", len(got.text), len(head))
	}
	if tc := agent.expect("task_cancel"); tc.str("taskId") != reply || tc.str("reason") != "reply_too_large" {
		t.Fatalf("task_cancel = %v", tc)
	}
	if status, content := replyStatus(t, c.db, reply); status != "error" || content != head {
		t.Fatalf("stored %s with %d bytes", status, len(content))
	}
	// Later frames for the task are dropped silently.
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "more", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	agent.pingPast("error")
	if status, _ := replyStatus(t, c.db, reply); status != "error" {
		t.Fatalf("a late agent_complete changed the reply to %s", status)
	}
}

// An accumulated chunk that rewrites the text: the reply ends in error
// invalid_chunk with the text it had, and the agent gets task_cancel.
func TestInvalidAccumulatedChunk(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "hallo", "inv-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hallo Welt", "mode": "accumulated"})
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hallo Erde", "mode": "accumulated"})
	got := client.collect(reply, nil)
	if e := got.ended.obj("error"); got.ended.str("status") != "error" || e.str("code") != "invalid_chunk" ||
		e.str("message") != "accumulated chunk does not extend text" || got.ended.str("content") != "Hallo Welt" {
		t.Fatalf("stream_end = %v", got.ended)
	}
	if tc := agent.expect("task_cancel"); tc.str("taskId") != reply || tc.str("reason") != "invalid_chunk" {
		t.Fatalf("task_cancel = %v", tc)
	}
	if status, content := replyStatus(t, c.db, reply); status != "error" || content != "Hallo Welt" {
		t.Fatalf("stored %s %q", status, content)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hallo Welt!", "mode": "accumulated"})
	agent.pingPast("error")
	// The conversation goes on.
	client.sendMessage(w.conv, "noch mal", "inv-2")
	next := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_complete", "taskId": next, "content": "ok"})
	if got := client.collect(next, nil); got.ended.str("status") != "complete" {
		t.Fatalf("next reply = %v", got.ended)
	}
}

// A reply that ends while a member has no socket anywhere reaches that
// member as a pending message_new with the final reply; stream frames are
// never kept.
func TestFinishedReplyGoesToOfflineMembersPending(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	agentID, token := newAgent(t, c.db, ada, "Echo Bot")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob}, agentID)
	pa := dialClient(t, r, ada)
	agent := dialAgent(t, r, token)

	ack := pa.sendMessage(conv, "für Bob", "off-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hallo ", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply, "content": "Hallo Bob"})
	if got := pa.collect(reply, nil); got.ended.str("content") != "Hallo Bob" {
		t.Fatalf("ada's stream_end = %v", got.ended)
	}

	pb := dialClient(t, r, bob)
	pb.send(map[string]any{"type": "sync"})
	res := pb.expect("sync_result")
	evs, _ := res["events"].([]any)
	if len(evs) != 2 || res["dropped"] != false {
		t.Fatalf("bob's pending events = %v (dropped %v), want the message and the reply", res["events"], res["dropped"])
	}
	msg := frame(evs[0].(map[string]any))
	if msg.str("type") != "message_new" || msg.obj("data").obj("message").str("id") != ack.obj("message").str("id") {
		t.Fatalf("first event = %v", msg)
	}
	fin := frame(evs[1].(map[string]any))
	m := fin.obj("data").obj("message")
	if fin.str("type") != "message_new" || fin.str("conversationId") != conv || m.str("id") != reply ||
		m.str("status") != "complete" || m.str("content") != "Hallo Bob" || m.str("role") != "agent" || m.str("senderAgentId") != agentID {
		t.Fatalf("reply event = %v", fin)
	}
	if streams, _ := res["activeStreams"].([]any); len(streams) != 0 {
		t.Fatalf("activeStreams = %v", streams)
	}
}

// More than 1000 events for a user with no socket: the newest 1000 are
// kept, and sync_result says dropped (once).
func TestSyncResultDroppedAfterOverflow(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	bob := testenv.NewUser(t, c.db, "Bob")
	rdb, _ := testenv.Redis(t)
	pub := events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix})
	const sent = kv.PendingMax + 5
	for i := 0; i < sent; i++ {
		ev, err := events.New(events.ReactionAdded, "c1", map[string]string{"messageId": "m1", "userId": "u2", "emoji": fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
		if err := pub.ToUsers(t.Context(), []string{bob.ID}, ev); err != nil {
			t.Fatal(err)
		}
	}
	pb := dialClient(t, r, bob)
	pb.send(map[string]any{"type": "sync"})
	res := pb.expect("sync_result")
	evs, _ := res["events"].([]any)
	if res["dropped"] != true || len(evs) != kv.PendingMax {
		t.Fatalf("sync_result: dropped %v, %d events; want true and %d", res["dropped"], len(evs), kv.PendingMax)
	}
	// Oldest first, the oldest five gone.
	for i, e := range evs {
		if got, want := frame(e.(map[string]any)).obj("data").str("emoji"), fmt.Sprint(i+5); got != want {
			t.Fatalf("event %d is #%s, want #%s", i, got, want)
		}
	}
	pb.send(map[string]any{"type": "sync"})
	res = pb.expect("sync_result")
	if evs, _ := res["events"].([]any); res["dropped"] != false || len(evs) != 0 {
		t.Fatalf("second sync_result: dropped %v, %d events; want false and none", res["dropped"], len(evs))
	}
}

// A member who cancels right after a chunk reached the screen keeps that
// chunk: local sockets are given each chunk when the agent's frame is read,
// before it is appended to the reply's buffer, and the cancel waits for the
// append (Engine.flushBefore) instead of ending the buffer without it.
// Many rounds, each cancelling the moment the chunk arrives.
func TestCancelRightAfterAChunkKeepsIt(t *testing.T) {
	c := newCluster(t, map[string]string{"RATE_LIMIT_SEND_PER_MINUTE": "100000", "RATE_LIMIT_SEND_BURST": "1000"})
	a := c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	agent := dialAgent(t, a, w.agentToken)
	lost := 0
	const rounds = 30
	for i := range rounds {
		client.sendMessage(w.conv, fmt.Sprintf("runde %d", i), fmt.Sprintf("cr-%d", i))
		reply := agent.expect("task").str("taskId")
		text := fmt.Sprintf("Antwort %d, gleich abgebrochen", i)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": text, "mode": "delta"})
		client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
		client.send(map[string]any{"type": "cancel_stream", "messageId": reply})
		end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
		if end.str("status") != "cancelled" {
			t.Fatalf("round %d: stream_end = %v", i, end)
		}
		if end.str("content") != text {
			lost++
			t.Errorf("round %d: the cancelled reply saved %q, the member saw %q", i, end.str("content"), text)
		}
		agent.expectWhere("task_cancel", func(f frame) bool { return f.str("taskId") == reply })
	}
	if lost > 0 {
		t.Fatalf("%d of %d cancelled replies lost the chunk already shown", lost, rounds)
	}
}
