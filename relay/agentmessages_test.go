package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// An agent's own message (agent_message) is stored with the next seq before
// its ack, reaches members on the other instance live and an offline member
// through pending, once even when retried, starts no reply (not even for an
// agent it mentions), and is refused where the agent is not a member or the
// id is another conversation's.
func TestAgentMessageIsStoredAnnouncedOnceAndStartsNoReply(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	echo, echoToken := newAgent(t, c.db, ada, "Echo Bot")
	other, otherToken := newAgent(t, c.db, ada, "Other Agent")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob}, echo, other)
	second := newConversation(t, c.db, "direct", []testenv.TestUser{ada}, echo)
	foreign := newConversation(t, c.db, "direct", []testenv.TestUser{ada}, other)
	pa := dialClient(t, b, ada)
	agent := dialAgent(t, a, echoToken)
	otherAgent := dialAgent(t, b, otherToken)

	post := func(conv, content, clientID string) frame {
		t.Helper()
		agent.send(map[string]any{"type": "agent_message", "conversationId": conv, "content": content, "clientMessageId": clientID})
		return agent.expectWhere("", func(f frame) bool {
			return (f.str("type") == "agent_message_ack" && f.str("clientMessageId") == clientID) ||
				(f.str("type") == "error" && f.str("ref") == clientID)
		})
	}
	ack := post(conv, "@other-agent Erinnerung: der Zug fährt um 9:12.", "am-1")
	if ack.str("type") != "agent_message_ack" || ack.num("seq") != 1 || ack.str("messageId") == "" {
		t.Fatalf("answer = %v", ack)
	}
	id := ack.str("messageId")
	var role, content, sender, clientID, status string
	if err := c.db.Pool.QueryRow(context.Background(), `select role, content, sender_agent_id, client_message_id, status
		from messages where id = $1 and conversation_id = $2 and seq = 1`, id, conv).Scan(&role, &content, &sender, &clientID, &status); err != nil {
		t.Fatalf("stored message: %v", err)
	}
	if role != "agent" || sender != echo || clientID != "am-1" || status != "complete" || !strings.HasPrefix(content, "@other-agent") {
		t.Fatalf("stored %s %s %s %s %q", role, sender, clientID, status, content)
	}
	ev := pa.expect("message_new")
	m := ev.obj("data").obj("message")
	if ev.str("conversationId") != conv || m.str("id") != id || m.str("role") != "agent" || m.str("senderAgentId") != echo ||
		m.str("clientMessageId") != "am-1" || m.num("seq") != 1 {
		t.Fatalf("message_new = %v", ev)
	}

	// A retry answers the stored message and announces nothing: the next
	// message_new ada gets is the next message's.
	if again := post(conv, "@other-agent Erinnerung: der Zug fährt um 9:12.", "am-1"); again.str("messageId") != id || again.num("seq") != 1 {
		t.Fatalf("retry answered %v", again)
	}
	next := post(conv, "Und: Regenschirm nicht vergessen.", "am-2")
	if next.num("seq") != 2 {
		t.Fatalf("second message = %v", next)
	}
	if ev := pa.expect("message_new"); ev.obj("data").obj("message").num("seq") != 2 {
		t.Fatalf("after the retry ada got %v", ev)
	}

	// No reply was started, for the author or the agent it mentioned.
	agent.pingPast("task")
	otherAgent.pingPast("task")
	var replies int
	if err := c.db.Pool.QueryRow(context.Background(), `select count(*) from messages where conversation_id = $1`, conv).Scan(&replies); err != nil || replies != 2 {
		t.Fatalf("conversation holds %d messages (%v), want the two agent messages", replies, err)
	}

	// Not a member: not_found; the same id in another conversation:
	// client_message_id_in_use. Neither stores anything.
	if e := post(foreign, "hallo", "am-3"); e.str("code") != "not_found" {
		t.Fatalf("foreign conversation answered %v", e)
	}
	if e := post(second, "hallo", "am-1"); e.str("code") != "client_message_id_in_use" || e.str("field") != "clientMessageId" {
		t.Fatalf("reused id answered %v", e)
	}
	// Refused at the decoder.
	for _, bad := range []struct {
		frame map[string]any
		field string
	}{
		{map[string]any{"type": "agent_message", "conversationId": conv, "content": "  ", "clientMessageId": "am-4"}, "content"},
		{map[string]any{"type": "agent_message", "conversationId": conv, "content": strings.Repeat("x", 16385), "clientMessageId": "am-4"}, "content"},
		{map[string]any{"type": "agent_message", "conversationId": conv, "content": "a\u0000b", "clientMessageId": "am-4"}, "content"},
		{map[string]any{"type": "agent_message", "conversationId": "c{1}", "content": "hi", "clientMessageId": "am-4"}, "conversationId"},
	} {
		agent.send(bad.frame)
		if e := agent.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != bad.field || e.str("ref") != "am-4" {
			t.Fatalf("%v answered %v", bad.frame, e)
		}
	}
	var elsewhere int
	if err := c.db.Pool.QueryRow(context.Background(), `select count(*) from messages where conversation_id in ($1, $2)
		or client_message_id = 'am-4'`, second, foreign).Scan(&elsewhere); err != nil || elsewhere != 0 {
		t.Fatalf("refused posts stored %d messages (%v)", elsewhere, err)
	}

	// Bob had no socket: both messages wait in pending, once each.
	pb := dialClient(t, a, bob)
	pb.send(map[string]any{"type": "sync"})
	res := pb.expect("sync_result")
	evs, _ := res["events"].([]any)
	if len(evs) != 2 {
		t.Fatalf("bob's pending events = %v", evs)
	}
	for i, e := range evs {
		f := frame(e.(map[string]any))
		if f.str("type") != "message_new" || f.obj("data").obj("message").num("seq") != int64(i+1) {
			t.Fatalf("bob's pending event %d = %v", i, f)
		}
	}
}
