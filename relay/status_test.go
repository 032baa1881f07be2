package main

import (
	"context"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// expectStatus reads up to the stream_status of reply id and fails if a
// stream_end of it comes first; it also checks that a chunk of the reply
// came before it (a status follows the chunks the agent sent before it).
func (p *peer) expectStatus(id string) frame {
	p.t.Helper()
	chunk := false
	return p.expectWhere("", func(f frame) bool {
		if f.str("messageId") != id {
			return false
		}
		switch f.str("type") {
		case "stream_chunk":
			chunk = true
		case "stream_end":
			p.t.Fatalf("stream_end before stream_status: %v", f)
		case "stream_status":
			if !chunk {
				p.t.Fatalf("stream_status before the chunk sent ahead of it: %v", f)
			}
			return true
		}
		return false
	})
}

func TestAgentStatusReachesEveryMemberOnEveryInstanceAndSync(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	echo, echoToken := newAgent(t, c.db, ada, "Echo Bot")
	other, otherToken := newAgent(t, c.db, ada, "Other")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob}, echo)
	newConversation(t, c.db, "direct", []testenv.TestUser{bob}, other)
	pa := dialClient(t, a, ada)
	pbA := dialClient(t, a, bob)
	pbB := dialClient(t, b, bob)
	agent := dialAgent(t, b, echoToken)
	otherAgent := dialAgent(t, a, otherToken)

	pa.sendMessage(conv, "Wie spät ist es?", "st-1")
	task := agent.expect("task")
	id := task.str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": id, "content": "Ich sehe ", "mode": "delta"})
	label := "Looking up the time in Tōkyō"
	agent.send(map[string]any{"type": "agent_status", "taskId": id, "state": "tool", "label": label})
	for _, p := range []*peer{pa, pbA, pbB} {
		st := p.expectStatus(id)
		if st.str("state") != "tool" || st.str("label") != label || st.str("conversationId") != conv {
			t.Fatalf("stream_status = %v", st)
		}
	}

	// Refused at the decoder, nothing changes, the socket stays open.
	for _, bad := range []struct {
		frame map[string]any
		field string
	}{
		{map[string]any{"type": "agent_status", "taskId": id, "state": "sleeping"}, "state"},
		{map[string]any{"type": "agent_status", "taskId": id, "state": "tool", "label": strings.Repeat("x", 201)}, "label"},
		{map[string]any{"type": "agent_status", "taskId": id, "state": "tool", "label": 7}, "label"},
		{map[string]any{"type": "agent_status", "taskId": id}, "state"},
	} {
		agent.send(bad.frame)
		e := agent.expect("error")
		if e.str("code") != "invalid_frame" || e.str("field") != bad.field || e.str("ref") != id {
			t.Fatalf("%v answered %v", bad.frame, e)
		}
	}
	// Another agent's task.
	otherAgent.send(map[string]any{"type": "agent_status", "taskId": id, "state": "tool"})
	if e := otherAgent.expect("error"); e.str("code") != "not_your_task" || e.str("ref") != id {
		t.Fatalf("foreign status answered %v", e)
	}

	// A socket that connects now learns the latest status from sync, on
	// the instance that does not hold the agent.
	late := dialClient(t, a, bob)
	late.send(map[string]any{"type": "sync"})
	res := late.expect("sync_result")
	streams, _ := res["activeStreams"].([]any)
	if len(streams) != 1 {
		t.Fatalf("activeStreams = %v", res["activeStreams"])
	}
	s := frame(streams[0].(map[string]any))
	if s.str("messageId") != id || s.obj("status").str("state") != "tool" || s.obj("status").str("label") != label {
		t.Fatalf("activeStreams[0] = %v", s)
	}
	online := map[string]bool{}
	agents, _ := res["agents"].([]any)
	for _, x := range agents {
		f := frame(x.(map[string]any))
		online[f.str("agentId")] = f["online"] == true
	}
	// Bob's agents: echo in the group and the other one in his direct chat.
	if len(online) != 2 || !online[echo] || !online[other] {
		t.Fatalf("agents = %v", res["agents"])
	}

	// A second status without a label replaces the first.
	agent.send(map[string]any{"type": "agent_status", "taskId": id, "state": "writing"})
	if st := pa.expect("stream_status"); st.str("state") != "writing" || st["label"] != nil {
		t.Fatalf("second stream_status = %v", st)
	}
	late.send(map[string]any{"type": "sync"})
	res = late.expect("sync_result")
	s = frame(res["activeStreams"].([]any)[0].(map[string]any))
	if st := s.obj("status"); st.str("state") != "writing" || st["label"] != nil {
		t.Fatalf("status after the second = %v", s)
	}

	agent.send(map[string]any{"type": "agent_complete", "taskId": id})
	for _, p := range []*peer{pa, pbB} {
		if got := p.collect(id, nil); got.ended.str("content") != "Ich sehe " {
			t.Fatalf("stream_end %v", got.ended)
		}
	}
	// A status for the ended task is dropped silently: no error for the
	// agent, no frame for the members.
	agent.send(map[string]any{"type": "agent_status", "taskId": id, "state": "thinking"})
	agent.pingPast("error")
	pa.pingPast("stream_status")
	pbB.pingPast("stream_status")
	late.send(map[string]any{"type": "sync"})
	if res := late.expect("sync_result"); len(res["activeStreams"].([]any)) != 0 {
		t.Fatalf("activeStreams after the end = %v", res["activeStreams"])
	}
}

func TestAgentPresenceReachesOnlySocketsFocusedOnItsConversations(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	eve := testenv.NewUser(t, c.db, "Eve")
	echo, echoToken := newAgent(t, c.db, ada, "Echo Bot")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob}, echo)
	chat := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob})
	evesOwn := newConversation(t, c.db, "group", []testenv.TestUser{eve})

	focused := dialClient(t, a, ada)    // on the agent's conversation
	background := dialClient(t, b, ada) // same user, no focus
	elsewhere := dialClient(t, b, bob)  // a member, focused on another chat
	stranger := dialClient(t, a, eve)   // names the conversation without being in it
	focus := func(p *peer, conv string) {
		p.send(map[string]any{"type": "focus", "conversationId": conv, "visible": true})
		p.pingPast("error")
	}
	focus(focused, conv)
	focus(elsewhere, chat)
	focus(stranger, conv)

	agent := dialAgent(t, b, echoToken)
	got := focused.expect("agent_presence")
	if got.str("conversationId") != conv || got.str("agentId") != echo || got["online"] != true {
		t.Fatalf("agent_presence = %v", got)
	}
	for _, p := range []*peer{background, elsewhere, stranger} {
		p.pingPast("agent_presence")
	}

	// The status answer and sync agree.
	focused.send(map[string]any{"type": "sync"})
	res := focused.expect("sync_result")
	if ag := res["agents"].([]any); len(ag) != 1 || ag[0].(map[string]any)["online"] != true {
		t.Fatalf("sync agents = %v", res["agents"])
	}

	// Moving the focus moves the watch: the socket now on another chat
	// hears nothing, the one that turned to the agent's conversation does.
	focus(focused, chat)
	focus(elsewhere, conv)
	focus(stranger, evesOwn)
	agent.send(map[string]any{"type": "ping"})
	agent.expect("pong")
	_ = agent.ws.Close()
	got = elsewhere.expect("agent_presence")
	if got.str("conversationId") != conv || got["online"] != false {
		t.Fatalf("agent_presence after the agent left = %v", got)
	}
	for _, p := range []*peer{focused, background, stranger} {
		p.pingPast("agent_presence")
	}
	elsewhere.send(map[string]any{"type": "sync"})
	res = elsewhere.expect("sync_result")
	if ag := res["agents"].([]any); len(ag) != 1 || ag[0].(map[string]any)["online"] != false {
		t.Fatalf("sync agents after the agent left = %v", res["agents"])
	}

	// An agent with an A2A endpoint is online without a socket: its socket
	// coming sends nothing, and sync says online all along.
	if _, err := c.db.Pool.Exec(context.Background(), `update agents set a2a_endpoint = 'https://agent.example/a2a' where id = $1`, echo); err != nil {
		t.Fatal(err)
	}
	elsewhere.send(map[string]any{"type": "sync"})
	res = elsewhere.expect("sync_result")
	if ag := res["agents"].([]any); ag[0].(map[string]any)["online"] != true {
		t.Fatalf("sync agents with an A2A endpoint = %v", res["agents"])
	}
	again := dialAgent(t, a, echoToken)
	again.send(map[string]any{"type": "ping"}) // its auth is done, announcement included
	again.expect("pong")
	elsewhere.pingPast("agent_presence")
}
