package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// Agents that address agents (PROTOCOL.md section 13), through real relay
// processes: the person's socket and one agent on one instance, the other
// agent on the second.

type chainWorld struct {
	c          *cluster
	conv       string
	ada        testenv.TestUser
	onA, onB   *peer // Ada's sockets on each instance
	ping, pong *peer // the agents' sockets: ping on the first instance, pong on the second
	pingID     string
	pongID     string
}

func newChainWorld(t *testing.T) *chainWorld {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	pingID, pingToken := newAgent(t, c.db, ada, "Ping Bot")
	pongID, pongToken := newAgent(t, c.db, ada, "Pong Bot")
	conv := newGroup(t, c.db, []testenv.TestUser{ada}, pingID, pongID)
	return &chainWorld{c: c, conv: conv, ada: ada, onA: dialClient(t, a, ada), onB: dialClient(t, b, ada),
		ping: dialAgent(t, a, pingToken), pong: dialAgent(t, b, pongToken), pingID: pingID, pongID: pongID}
}

func setChainHops(t *testing.T, c *cluster, conv string, hops int) {
	t.Helper()
	if _, err := c.db.Pool.Exec(context.Background(), `update conversations set chain_hops = $2 where id = $1`, conv, hops); err != nil {
		t.Fatal(err)
	}
}

func agentReplies(t *testing.T, c *cluster, conv string) (all, open int) {
	t.Helper()
	if err := c.db.Pool.QueryRow(context.Background(), `select count(*), count(*) filter (where status in ('pending', 'streaming'))
		from messages where conversation_id = $1 and role = 'agent'`, conv).Scan(&all, &open); err != nil {
		t.Fatal(err)
	}
	return all, open
}

// Two agents that always mention each other make exactly the default
// budget of 4 agent-to-agent hops (5 replies in all, the first to the
// person), then the chain stops and every member socket, on both
// instances, gets chain_limit naming the last reply.
func TestChainOfTwoAgentsStopsExactlyAtTheBudget(t *testing.T) {
	w := newChainWorld(t)
	ack := w.onA.sendMessage(w.conv, "@ping-bot start a rally", "chain-1")
	root := ack.obj("message").str("id")

	agents := []*peer{w.ping, w.pong}
	handles := []string{"ping-bot", "pong-bot"}
	var last, prevReply string
	for hop := 0; hop <= 4; hop++ {
		me := hop % 2
		task := agents[me].expect("task")
		chain := task.obj("chain")
		// Members see where the reply stands in its chain from its
		// stream_start on (nothing for the reply to the person).
		for _, p := range []*peer{w.onA, w.onB} {
			ss := p.expectWhere("stream_start", func(f frame) bool { return f.str("messageId") == task.str("taskId") })
			if _, has := ss["chainHop"]; ss.num("chainHop") != int64(hop) || (hop == 0 && has) ||
				(hop > 0 && ss.str("chainRootId") != root) || (hop == 0 && ss.str("chainRootId") != "") {
				t.Fatalf("hop %d stream_start = %v", hop, ss)
			}
		}
		if hop == 0 {
			if chain != nil || task.obj("message").str("id") != root {
				t.Fatalf("first task (a person's message) = %v", task)
			}
		} else {
			if chain.num("hop") != int64(hop) || chain.num("maxHops") != 4 || chain.str("rootMessageId") != root ||
				chain.obj("mentionedBy").str("handle") != handles[1-me] {
				t.Fatalf("hop %d task chain = %v", hop, chain)
			}
			// The task's message is the reply that mentioned this agent;
			// the person's message is in the history.
			msg := task.obj("message")
			if msg.str("id") != prevReply || msg.obj("sender").str("name") == "" {
				t.Fatalf("hop %d task message = %v (want the reply %s)", hop, msg, prevReply)
			}
			seen := false
			for _, h := range task["history"].([]any) {
				if h.(map[string]any)["content"] == "@ping-bot start a rally" {
					seen = true
				}
			}
			if !seen {
				t.Fatalf("hop %d history lacks the person's message: %v", hop, task["history"])
			}
		}
		last = task.str("taskId")
		agents[me].send(map[string]any{"type": "agent_complete", "taskId": last,
			"content": fmt.Sprintf("back to you @%s (hop %d)", handles[1-me], hop)})
		prevReply = last
	}
	for _, p := range []*peer{w.onA, w.onB} {
		ev := p.expect("chain_limit")
		d := ev.obj("data")
		if ev.str("conversationId") != w.conv || d.str("conversationId") != w.conv || d.str("messageId") != last || d.num("hops") != 4 {
			t.Fatalf("chain_limit = %v (want message %s, hops 4)", ev, last)
		}
	}
	// The stored replies carry their chain too (the Message JSON of
	// history, sync and events).
	for hop := 1; hop <= 4; hop++ {
		var n int
		if err := w.c.db.Pool.QueryRow(context.Background(), `select count(*) from messages
			where conversation_id = $1 and chain_hop = $2 and chain_root_id = $3`, w.conv, hop, root).Scan(&n); err != nil || n != 1 {
			t.Fatalf("hop %d stored %d replies (%v)", hop, n, err)
		}
	}
	// Nothing more was set off: the agent the last reply mentioned got no
	// task, and no reply is left open.
	w.pong.pingPast("task")
	if all, open := agentReplies(t, w.c, w.conv); all != 5 || open != 0 {
		t.Fatalf("agent replies: %d (open %d), want 5 (0)", all, open)
	}
}

// An agent's mention of itself sets nothing off, and a conversation's own
// budget (1 hop here) is the one the chain keeps.
func TestChainSelfMentionAndConversationBudget(t *testing.T) {
	w := newChainWorld(t)
	setChainHops(t, w.c, w.conv, 1)
	w.onB.sendMessage(w.conv, "@ping-bot hello", "chain-2")

	first := w.ping.expect("task").str("taskId")
	w.ping.send(map[string]any{"type": "agent_complete", "taskId": first, "content": "I, @ping-bot, ask @pong-bot"})
	hop := w.pong.expect("task")
	if c := hop.obj("chain"); c.num("hop") != 1 || c.num("maxHops") != 1 || c.obj("mentionedBy").str("id") != w.pingID {
		t.Fatalf("hop task chain = %v", c)
	}
	w.pong.send(map[string]any{"type": "agent_complete", "taskId": hop.str("taskId"), "content": "over to @ping-bot and @pong-bot"})
	ev := w.onA.expect("chain_limit")
	if d := ev.obj("data"); d.str("messageId") != hop.str("taskId") || d.num("hops") != 1 {
		t.Fatalf("chain_limit = %v", ev)
	}
	// ping's self-mention gave it no second task, nor did the budget
	// let pong's mention through.
	w.ping.pingPast("task")
	w.pong.pingPast("task")
	if all, open := agentReplies(t, w.c, w.conv); all != 2 || open != 0 {
		t.Fatalf("agent replies: %d (open %d), want 2 (0)", all, open)
	}

	// A reply that mentions only itself sets nothing off and reaches no
	// limit.
	w.onA.sendMessage(w.conv, "@ping-bot again", "chain-3")
	again := w.ping.expect("task").str("taskId")
	w.ping.send(map[string]any{"type": "agent_complete", "taskId": again, "content": "only @ping-bot here"})
	w.onA.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == again })
	w.onA.pingPast("chain_limit")
	w.ping.pingPast("task")
	if all, open := agentReplies(t, w.c, w.conv); all != 3 || open != 0 {
		t.Fatalf("agent replies: %d (open %d), want 3 (0)", all, open)
	}
}
