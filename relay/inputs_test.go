package main

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// expectInputRequest reads up to the input_request of requestID.
func (p *peer) expectInputRequest(requestID string) frame {
	p.t.Helper()
	return p.expectWhere("input_request", func(f frame) bool { return f.str("requestId") == requestID })
}

// expectResolved reads up to the input_resolved event of requestID.
func (p *peer) expectResolved(requestID string) frame {
	p.t.Helper()
	f := p.expectWhere("input_resolved", func(f frame) bool { return f.obj("data").str("requestId") == requestID })
	return f.obj("data")
}

// answerer is the REST route's path (functions/conversations): the same
// shared/inputs code, on the cluster's database and Redis prefix.
func answerer(t *testing.T, c *cluster) *inputs.Answerer {
	rdb, _ := testenv.Redis(t)
	return &inputs.Answerer{DB: c.db, Events: events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix})}
}

// An approval asked by an agent on one instance reaches every member
// socket on the other; it survives a member's reconnect (sync lists it), a
// SIGKILL of the instance holding the agent (answered while the agent is
// away, the answer reaches it from Postgres when it comes back on a new
// instance), no silence timeout runs while it waits, and of answers given at
// once over sockets and REST the first wins and the agent gets it once.
func TestInputRequestAcrossInstancesRestartAndFirstAnswerWins(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_AGENT_IDLE_TIMEOUT": "2s", "RELAY_AGENT_FIRST_CHUNK_TIMEOUT": "2s"})
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	eve := testenv.NewUser(t, c.db, "Eve")
	echo, token := newAgent(t, c.db, ada, "Echo Bot")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob}, echo)
	pa := dialClient(t, b, ada)
	pbB := dialClient(t, b, bob)
	pbA := dialClient(t, a, bob)
	pe := dialClient(t, b, eve) // not a member
	agent := dialAgent(t, a, token)

	pa.sendMessage(conv, "Reservier bitte einen Tisch", "ir-1")
	task := agent.expect("task")
	reply := task.str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Moment ", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-1", "kind": "approval",
		"prompt": "Soll ich für 19:30 reservieren?"})
	for _, p := range []*peer{pa, pbB, pbA} {
		f := p.expectInputRequest("q-1")
		if f.str("messageId") != reply || f.str("conversationId") != conv || f.str("kind") != "approval" ||
			f.str("prompt") != "Soll ich für 19:30 reservieren?" || f.str("expiresAt") == "" {
			t.Fatalf("input_request = %v", f)
		}
	}
	if st, _ := replyStatus(t, c.db, reply); st != "waiting_input" {
		t.Fatalf("reply status %q, want waiting_input", st)
	}

	// Refusals: a second request while one is open, options on an
	// approval, a retry of the same request (changes nothing).
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-2", "kind": "question", "prompt": "Und?"})
	if e := agent.expect("error"); e.str("code") != "input_pending" || e.str("ref") != reply {
		t.Fatalf("second request answered %v", e)
	}
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-3", "kind": "approval", "prompt": "x", "options": []string{"a"}})
	if e := agent.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "options" {
		t.Fatalf("options on an approval answered %v", e)
	}
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-1", "kind": "approval", "prompt": "Soll ich für 19:30 reservieren?"})
	agent.pingPast("error")
	pa.pingPast("input_request")

	// Eve is no member: her answer is not_found, and she saw nothing.
	pe.send(map[string]any{"type": "input_response", "requestId": "q-1", "approved": true})
	if e := pe.expect("error"); e.str("code") != "not_found" || e.str("ref") != "q-1" {
		t.Fatalf("a stranger's answer got %v", e)
	}
	// An answer that does not fit: an approval needs approved.
	pa.send(map[string]any{"type": "input_response", "requestId": "q-1", "answer": "gern"})
	if e := pa.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "approved" {
		t.Fatalf("an approval without approved got %v", e)
	}

	// Bob reconnects: sync lists the request and the reply's text so far.
	late := dialClient(t, a, bob)
	late.send(map[string]any{"type": "sync"})
	res := late.expect("sync_result")
	open, _ := res["inputRequests"].([]any)
	if len(open) != 1 || frame(open[0].(map[string]any)).str("requestId") != "q-1" {
		t.Fatalf("inputRequests = %v", res["inputRequests"])
	}
	if streams, _ := res["activeStreams"].([]any); len(streams) != 1 || frame(streams[0].(map[string]any)).str("content") != "Moment " {
		t.Fatalf("activeStreams = %v", res["activeStreams"])
	}

	// The instance holding the agent dies, and a new one starts (a relay
	// restart). No silence timeout runs while the reply waits for a
	// person: well past the 2 s timeouts, with no agent anywhere, it waits.
	a.kill(t)
	agent.waitClosed()
	killed := time.Now()
	cc := c.start()
	deadline := time.Now().Add(wait)
	for time.Since(killed) < 3*time.Second {
		if st, _ := replyStatus(t, c.db, reply); st != "waiting_input" {
			t.Fatalf("reply status %q while it waits for a person", st)
		}
		if time.Now().After(deadline) {
			t.Fatal("bound")
		}
		time.Sleep(100 * time.Millisecond) // polling a state, not synchronising
	}
	// Ada answers (on b) while the agent has no socket.
	pa.send(map[string]any{"type": "input_response", "requestId": "q-1", "approved": true})
	if d := pa.expectResolved("q-1"); d.str("state") != "answered" || d["approved"] != true || d.str("answeredBy") != ada.ID {
		t.Fatalf("input_resolved = %v", d)
	}
	pbB.expectResolved("q-1")
	// The agent comes back, on the new instance: the answer reaches it
	// from Postgres, once.
	agent2 := dialAgent(t, cc, token)
	got := agent2.expect("input_response")
	if got.str("taskId") != reply || got.str("requestId") != "q-1" || got["approved"] != true || got.str("userId") != ada.ID {
		t.Fatalf("input_response = %v", got)
	}
	agent2.pingPast("input_response")

	// The reply streams again; a second request, answered at once over
	// three paths while the agent sits on cc and the members on b.
	agent2.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "gebucht. ", "mode": "delta"})
	pa.expectWhere("stream_chunk", func(f frame) bool { return f.str("delta") == "gebucht. " })
	agent2.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-4", "kind": "question",
		"prompt": "Welcher Name?", "options": []string{"Ada", "Bob"}})
	pa.expectInputRequest("q-4")
	pbB.expectInputRequest("q-4")
	pa.send(map[string]any{"type": "input_response", "requestId": "q-4", "answer": "Eve"})
	if e := pa.expect("error"); e.str("code") != "invalid_frame" || e.str("field") != "answer" {
		t.Fatalf("an answer outside the options got %v", e)
	}
	var wg sync.WaitGroup
	var restErr error
	wg.Go(func() { pa.send(map[string]any{"type": "input_response", "requestId": "q-4", "answer": "Ada"}) })
	wg.Go(func() { pbB.send(map[string]any{"type": "input_response", "requestId": "q-4", "answer": "Bob"}) })
	wg.Go(func() {
		s := "Bob"
		_, restErr = answerer(t, c).Answer(t.Context(), bob.ID, "q-4", &s, nil)
	})
	wg.Wait()
	// pa's own answer may be refused before input_resolved reaches it:
	// already_answered errors are counted on the way there too.
	refused := 0
	var d frame
	for d == nil {
		f := pa.expect("")
		switch {
		case f.str("type") == "input_resolved" && f.obj("data").str("requestId") == "q-4":
			d = f.obj("data")
		case f.str("type") == "error":
			if f.str("code") != "already_answered" || f.str("ref") != "q-4" {
				t.Fatalf("a later answer got %v", f)
			}
			refused++
		}
	}
	winner := d.str("answer")
	if d.str("state") != "answered" || (winner != "Ada" && winner != "Bob") {
		t.Fatalf("input_resolved = %v", d)
	}
	var closed *store.InputClosed
	if errors.As(restErr, &closed) {
		refused++
	} else if restErr != nil {
		t.Fatalf("REST answer: %v", restErr)
	}
	for _, p := range []*peer{pa, pbB} {
		p.send(map[string]any{"type": "ping"})
		for {
			f := p.expect("")
			if f.str("type") == "pong" {
				break
			}
			if f.str("type") == "error" {
				if f.str("code") != "already_answered" || f.str("ref") != "q-4" {
					t.Fatalf("a later answer got %v", f)
				}
				refused++
			}
		}
	}
	if refused != 2 {
		t.Fatalf("%d of three concurrent answers refused, want 2", refused)
	}
	got = agent2.expect("input_response")
	if got.str("requestId") != "q-4" || got.str("answer") != winner {
		t.Fatalf("input_response = %v, winner %q", got, winner)
	}
	agent2.send(map[string]any{"type": "agent_complete", "taskId": reply, "content": "Moment gebucht. Auf " + winner + "."})
	for _, p := range []*peer{pa, pbB} {
		end := p.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
		if end.str("status") != "complete" || end.str("content") != "Moment gebucht. Auf "+winner+"." {
			t.Fatalf("stream_end = %v", end)
		}
	}
	agent2.pingPast("input_response")
	// A late answer to a settled request.
	pbB.send(map[string]any{"type": "input_response", "requestId": "q-1", "approved": false})
	if e := pbB.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("late answer got %v", e)
	}
}

// A request nobody answers expires: members learn it (input_resolved
// expired), the agent gets input_timeout, later answers are refused, and the
// reply goes on.
func TestInputRequestExpires(t *testing.T) {
	c := newCluster(t, map[string]string{"INPUT_REQUEST_TTL": "1s"})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	agent := dialAgent(t, b, w.agentToken)
	client.sendMessage(w.conv, "frag mich", "ex-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-ex", "kind": "question",
		"prompt": "Welche Farbe?", "schema": map[string]any{"type": "object", "properties": map[string]any{"color": map[string]any{"type": "string"}}}})
	if f := client.expectInputRequest("q-ex"); f.obj("schema").str("type") != "object" {
		t.Fatalf("input_request = %v", f)
	}
	if d := client.expectResolved("q-ex"); d.str("state") != "expired" || d["answeredBy"] != nil {
		t.Fatalf("input_resolved = %v", d)
	}
	if f := agent.expect("input_timeout"); f.str("taskId") != reply || f.str("requestId") != "q-ex" {
		t.Fatalf("input_timeout = %v", f)
	}
	client.send(map[string]any{"type": "input_response", "requestId": "q-ex", "answer": `{"color":"blau"}`})
	if e := client.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("answer after expiry got %v", e)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply, "content": "Keine Antwort, dann blau."})
	if got := client.collect(reply, nil); got.ended.str("status") != "complete" {
		t.Fatalf("stream_end = %v", got.ended)
	}
	agent.pingPast("input_timeout")
}

// A member who cancels a waiting reply closes its request with it.
func TestCancelWaitingReplyClosesItsRequest(t *testing.T) {
	c := newCluster(t, nil)
	a := c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	agent := dialAgent(t, a, w.agentToken)
	client.sendMessage(w.conv, "frag", "cx-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "q-cx", "kind": "approval", "prompt": "Ok?"})
	client.expectInputRequest("q-cx")
	client.send(map[string]any{"type": "cancel_stream", "messageId": reply})
	if end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply }); end.str("status") != "cancelled" {
		t.Fatalf("stream_end = %v", end)
	}
	if f := agent.expect("task_cancel"); f.str("reason") != "user_cancelled" {
		t.Fatalf("task_cancel = %v", f)
	}
	client.send(map[string]any{"type": "input_response", "requestId": "q-cx", "approved": true})
	if e := client.expect("error"); e.str("code") != "already_answered" {
		t.Fatalf("answer after cancel got %v", e)
	}
	client.send(map[string]any{"type": "sync"})
	if res := client.expect("sync_result"); len(res["inputRequests"].([]any)) != 0 {
		t.Fatalf("inputRequests after cancel = %v", res["inputRequests"])
	}
}

// An answer handed to a socket whose instance then dies may never have been
// read (the kernel drops what a killed process's socket had not sent when
// the agent's unread frames make it reset), though its delivery is
// recorded: the agent's next socket gets it again while the agent has not
// been heard from on that reply since; once it has, a new socket does not.
func TestAnswerGivenToADyingSocketIsGivenAgain(t *testing.T) {
	c := newCluster(t, map[string]string{})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, b, w.users[0])
	agent := dialAgent(t, a, w.agentToken)

	client.sendMessage(w.conv, "Darf ich?", "again-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_input_request", "taskId": reply, "requestId": "again-q", "kind": "approval", "prompt": "Ja?"})
	client.expectInputRequest("again-q")
	client.send(map[string]any{"type": "input_response", "requestId": "again-q", "approved": true})
	agent.expectWhere("input_response", func(f frame) bool { return f.str("requestId") == "again-q" })
	waitFor(t, 10*time.Second, "the delivery recorded", func() bool { st, _ := replyStatus(t, c.db, reply); return st == "streaming" })
	a.kill(t) // as if the agent never read it

	again := dialAgent(t, b, w.agentToken)
	f := again.expectWhere("input_response", func(f frame) bool { return f.str("requestId") == "again-q" })
	if f.str("taskId") != reply || f["approved"] != true {
		t.Fatalf("input_response = %v", f)
	}
	// Heard from since: the next socket is not given it.
	again.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Gut", "mode": "delta"})
	client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	third := dialAgent(t, b, w.agentToken)
	time.Sleep(500 * time.Millisecond) // the deliveries run off the auth
	third.pingPast("input_response")
	third.send(map[string]any{"type": "agent_complete", "taskId": reply})
	if end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply }); end.str("content") != "Gut" {
		t.Fatalf("stream_end = %v", end)
	}
}
