package main

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"

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

// An accumulated-mode agent keeps a reply alive with an empty chunk (in any
// mode it adds nothing and resets the silence clock) or by resending its
// text unchanged; neither ends the reply.
func TestAccumulatedKeepAlive(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_AGENT_IDLE_TIMEOUT": "2s"})
	r := c.start()
	w := newWorld(t, c)
	p := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)
	p.sendMessage(w.conv, "erzähl", "ka-1")
	task := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task, "content": "Es war ", "mode": "accumulated"})
	// Keep-alives for twice the idle timeout: the reply must stay open.
	began := time.Now()
	for i := 0; time.Since(began) < 4*time.Second; i++ {
		content := ""
		if i%2 == 1 {
			content = "Es war "
		}
		agent.send(map[string]any{"type": "agent_chunk", "taskId": task, "content": content, "mode": "accumulated"})
		time.Sleep(250 * time.Millisecond)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task, "content": "Es war einmal", "mode": "accumulated"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": task})
	got := p.collect(task, nil)
	if got.ended.str("status") != "complete" || got.ended.str("content") != "Es war einmal" || string(got.text) != "Es war einmal" {
		t.Fatalf("stream_end = %v, assembled %q", got.ended, got.text)
	}
}

// A reply whose agent cannot be reached gets its stream_start like any
// other reply that reaches its turn, then at once its stream_end with error
// agent_offline and no chunk.
func TestAgentOfflineReplyStartsThenEnds(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c) // the agent has no socket and no A2A endpoint
	p := dialClient(t, r, w.users[0])
	ack := p.sendMessage(w.conv, "jemand da?", "off-1")
	list, _ := ack["replies"].([]any)
	if len(list) != 1 {
		t.Fatalf("ack = %v", ack)
	}
	reply := frame(list[0].(map[string]any)).str("messageId")
	var seen []string
	for {
		f := p.expectWhere("", func(f frame) bool { return f.str("messageId") == reply })
		seen = append(seen, f.str("type"))
		if f.str("type") == "stream_end" {
			if f.str("status") != "error" || f.obj("error").str("code") != "agent_offline" || f.str("content") != "" {
				t.Fatalf("stream_end = %v", f)
			}
			break
		}
	}
	if len(seen) != 2 || seen[0] != "stream_start" {
		t.Fatalf("frames of the reply: %v, want stream_start, stream_end", seen)
	}
}

// How the relay answers frames the spec left open (PROTOCOL.md sections 1,
// 4, 5 and 9).
func TestOddFramesAnswers(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	p := dialClient(t, r, w.users[0])
	for _, tc := range []struct {
		raw, code, field string
	}{
		{`{"conversationId":"c1"}`, "invalid_frame", "type"},
		{`{"type":7}`, "invalid_frame", "type"},
		{`{"type":null}`, "invalid_frame", "type"},
		{`{"type":"ping"} {"type":"ping"}`, "invalid_json", ""},
		{`{"type":"ping"} x`, "invalid_json", ""},
		{`{"type":"sync","cursors":{"not an id!":3}}`, "invalid_frame", "cursors"},
	} {
		p.sendRaw(websocket.TextMessage, []byte(tc.raw))
		e := p.expectWhere("", func(f frame) bool {
			return f.str("type") == "error" || f.str("type") == "pong" || f.str("type") == "sync_result"
		})
		if e.str("type") != "error" || e.str("code") != tc.code || e.str("field") != tc.field {
			t.Fatalf("%s: answered %v", tc.raw, e)
		}
	}
	// Whitespace around the JSON value is JSON's own: accepted.
	p.sendRaw(websocket.TextMessage, []byte(" \t{\"type\":\"ping\"} \r\n\t "))
	if f := p.expectWhere("", func(frame) bool { return true }); f.str("type") != "pong" {
		t.Fatalf("trailing whitespace answered %v", f)
	}

	agent := dialAgent(t, r, w.agentToken)
	agent.send(map[string]any{"type": "auth", "token": w.agentToken})
	if e := agent.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "type" || e.str("message") != "type: already authenticated" {
		t.Fatalf("second auth answered %v", e)
	}
	agent.send(map[string]any{"type": "ping"})
	agent.expect("pong")
}

// The instance driving a reply dies after chunks and the agent does not come
// back: the first deadline to pass ends the reply. Here the silence timeout
// (2 s) is shorter than the active mark's TTL (8 s), as with the defaults
// (60 s and 90 s), so it ends agent_timeout; TestKilledInstanceUnwedgesConversation
// has the mark expire first (interrupted).
func TestDeadDriverSilenceTimeoutWinsWhenShorter(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_AGENT_IDLE_TIMEOUT": "2s", "RELAY_ACTIVE_TTL": "8s"})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	agent := dialAgent(t, b, w.agentToken)
	client.sendMessage(w.conv, "und dann?", "dd-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Teil ", "mode": "delta"})
	client.expect("stream_chunk")
	b.kill(t)
	agent.waitClosed()
	killed := time.Now()
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "error" || end.obj("error").str("code") != "agent_timeout" || end.str("content") != "Teil " {
		t.Fatalf("stream_end = %v", end)
	}
	t.Logf("ended %s after the kill", time.Since(killed).Round(100*time.Millisecond))
}
