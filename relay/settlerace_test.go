package main

import (
	"fmt"
	"sync"
	"testing"
)

// Settle's once-only guard, tested as the race it exists for: the agent
// completes a reply on one instance while its user cancels it from two
// sockets on two instances, all at once. Whoever wins, the reply has one
// terminal state, every socket gets exactly one stream_end that says what
// was saved, and the conversation's queue moves on exactly once.
func TestSettleOnceUnderConcurrentEnds(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)
	peers := map[string]*peer{"a": onA, "b": onB}
	ends := map[string]map[string][]frame{"a": {}, "b": {}} // socket → reply → stream_ends seen
	starts := map[string]map[string]int{"a": {}, "b": {}}
	note := func(name string) func(frame) bool {
		return func(f frame) bool {
			switch f.str("type") {
			case "stream_end":
				ends[name][f.str("messageId")] = append(ends[name][f.str("messageId")], f)
			case "stream_start":
				starts[name][f.str("messageId")]++
			}
			return false
		}
	}

	const rounds = 20
	won := map[string]int{}
	var replies []string
	for i := 0; i < rounds; i++ {
		ack := onA.sendMessage(w.conv, fmt.Sprintf("Runde %d", i), fmt.Sprintf("race-%d", i))
		if ack["queued"] != false {
			// The previous round's reply still holds the conversation:
			// its end did not release the queue.
			t.Fatalf("round %d: ack = %v, want the reply to start at once", i, ack)
		}
		reply := agent.expect("task").str("taskId")
		replies = append(replies, reply)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Teil ", "mode": "delta"})
		for name, p := range peers {
			p.expectWhere("", func(f frame) bool {
				note(name)(f)
				return f.str("type") == "stream_chunk" && f.str("messageId") == reply
			})
		}
		var wg sync.WaitGroup
		gate := make(chan struct{})
		race := func(p *peer, v map[string]any) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				p.send(v)
			}()
		}
		race(agent, map[string]any{"type": "agent_complete", "taskId": reply, "content": "fertig"})
		race(onA, map[string]any{"type": "cancel_stream", "messageId": reply})
		race(onB, map[string]any{"type": "cancel_stream", "messageId": reply})
		close(gate)
		wg.Wait()
		var first frame
		for name, p := range peers {
			end := p.expectWhere("", func(f frame) bool {
				note(name)(f)
				return f.str("type") == "stream_end" && f.str("messageId") == reply
			})
			if first == nil {
				first = end
			}
		}
		status, content := replyStatus(t, c.db, reply)
		want := map[string]string{"complete": "fertig", "cancelled": "Teil "}[status]
		if want == "" || content != want || first.str("status") != status || first.str("content") != content {
			t.Fatalf("round %d: stored %s %q, stream_end %v", i, status, content, first)
		}
		won[status]++
	}
	// Every frame published before the marker has arrived.
	for name, p := range peers {
		p.quietUntilMarker(c, w.users[0].ID, note(name))
	}
	for _, reply := range replies {
		for name := range peers {
			if n := len(ends[name][reply]); n != 1 {
				t.Fatalf("socket on %s got %d stream_end for %s: %v", name, n, reply, ends[name][reply])
			}
			if e := ends[name][reply][0]; e.str("status") != ends["a"][reply][0].str("status") {
				t.Fatalf("the sockets were told different ends: %v / %v", ends["a"][reply][0], e)
			}
			if n := starts[name][reply]; n != 1 {
				t.Fatalf("socket on %s got %d stream_start for %s", name, n, reply)
			}
		}
	}
	t.Logf("%d rounds: %v", rounds, won)
}
