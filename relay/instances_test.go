package main

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestTwoInstancesEveryClientGetsEveryChunk(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)

	ack := onA.sendMessage(w.conv, "hallo", "x-1")
	// The user's other socket, on the other instance, hears of the message.
	ev := onB.expect("message_new")
	if ev.obj("data").obj("message").str("id") != ack.obj("message").str("id") {
		t.Fatalf("message_new = %v", ev)
	}
	reply := onA.expect("stream_start").str("messageId")
	if onB.expect("stream_start").str("messageId") != reply {
		t.Fatal("stream_start differs")
	}
	task := agent.expect("task")
	var sent strings.Builder
	var pieces []string
	for i := 0; i < 100; i++ {
		sent.WriteString(chunkText(i))
		pieces = append(pieces, chunkText(i))
		agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": chunkText(i), "mode": "delta"})
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId")})
	for name, p := range map[string]*peer{"A": onA, "B": onB} {
		got := p.collect(reply, nil)
		// The relay may merge chunks that arrive while it sends earlier ones.
		if string(got.text) != sent.String() || got.chunks < 1 || got.chunks > 100 || got.ended.str("status") != "complete" {
			t.Fatalf("client on %s: %d chunks, %q", name, got.chunks, got.ended["status"])
		}
		if err := got.wholeChunks(pieces); err != nil {
			t.Fatalf("client on %s: %v", name, err)
		}
	}
}

func TestTwoInstancesGroupWithUsersOnBoth(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	echo, echoToken := newAgent(t, c.db, ada, "Echo Bot")
	cal, calToken := newAgent(t, c.db, ada, "Calendar")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob}, echo, cal)
	pa := dialClient(t, a, ada)
	pb := dialClient(t, b, bob)
	echoPeer := dialAgent(t, a, echoToken)
	calPeer := dialAgent(t, b, calToken)

	// Several agents and no mention: a plain message between people.
	ack := pa.sendMessage(conv, "Hallo Bob", "g-1")
	if ack["queued"] != false {
		t.Fatalf("ack = %v", ack)
	}
	if got := pb.expect("message_new"); got.obj("data").obj("message").str("content") != "Hallo Bob" {
		t.Fatalf("bob got %v", got)
	}
	// Mentions: each mentioned agent replies, in mention order, one at a time.
	pb.sendMessage(conv, "@calendar und @Echo-Bot, bitte", "g-2")
	for _, step := range []struct {
		p    *peer
		text string
	}{{calPeer, "Termin: 9 Uhr"}, {echoPeer, "bitte ✓"}} {
		task := step.p.expect("task")
		step.p.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": step.text, "mode": "delta"})
		step.p.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId")})
		for _, u := range []*peer{pa, pb} {
			if got := u.collect(task.str("taskId"), nil); string(got.text) != step.text {
				t.Fatalf("got %q, want %q", got.text, step.text)
			}
		}
	}
}

func TestResumeOnOtherInstanceAfterDrop(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	first := dialClient(t, a, w.users[0])
	agent := dialAgent(t, a, w.agentToken)
	first.sendMessage(w.conv, "erzähl", "r-1")
	reply := first.expect("stream_start").str("messageId")
	task := agent.expect("task")
	var sent strings.Builder
	chunk := func(i int) {
		sent.WriteString(chunkText(i))
		agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": chunkText(i), "mode": "delta"})
	}
	for i := 0; i < 30; i++ {
		chunk(i)
	}
	// Some text has arrived (the relay may merge the 30 chunks into one delta
	// at offset 0, so any chunk of this reply counts).
	first.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	_ = first.ws.Close() // the drop

	// Chunks keep coming while the client reconnects to the other instance.
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 30; i < 200; i++ {
			select {
			case <-stop:
				return
			default:
			}
			chunk(i)
			time.Sleep(2 * time.Millisecond)
		}
	}()
	second := dialClient(t, b, w.users[0])
	second.send(map[string]any{"type": "sync"})
	// Chunks before sync_result are buffered, then applied after its text.
	var early []frame
	var res frame
	for res == nil {
		f := second.next(wait)
		if f == nil {
			t.Fatal("no sync_result")
		}
		switch f.str("type") {
		case "stream_chunk":
			early = append(early, f)
		case "sync_result":
			res = f
		}
	}
	streams, _ := res["activeStreams"].([]any)
	if len(streams) != 1 {
		t.Fatalf("activeStreams = %v", res["activeStreams"])
	}
	as := frame(streams[0].(map[string]any))
	if as.str("messageId") != reply || as.num("offset") != int64(len(as.str("content"))) {
		t.Fatalf("active stream = %v", as)
	}
	asm := &assembler{text: []byte(as.str("content"))}
	for _, f := range early {
		if err := asm.apply(f); err != nil {
			t.Fatal(err)
		}
	}
	<-done
	close(stop)
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId")})
	got := second.collect(reply, asm)
	if string(got.text) != sent.String() {
		t.Fatalf("resumed text differs:\n got %d bytes\nwant %d bytes", len(got.text), sent.Len())
	}
}

func TestCancelAndAgentError(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "lang", "c-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	// A queued reply that is cancelled leaves the queue, empty.
	queued := client.sendMessage(w.conv, "danach", "c-2")
	if queued["queued"] != true {
		t.Fatalf("ack = %v", queued)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Es war einmal ", "mode": "delta"})
	client.expect("stream_chunk")
	client.send(map[string]any{"type": "cancel_stream", "messageId": reply})
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "cancelled" || end.str("content") != "Es war einmal " {
		t.Fatalf("stream_end = %v", end)
	}
	if tc := agent.expect("task_cancel"); tc.str("taskId") != reply || tc.str("reason") != "user_cancelled" {
		t.Fatalf("task_cancel = %v", tc)
	}
	if status, content := replyStatus(t, c.db, reply); status != "cancelled" || content != "Es war einmal " {
		t.Fatalf("stored %s %q", status, content)
	}
	// Chunks after the cancel are dropped silently.
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "late", "mode": "delta"})

	// The queue moved on; this reply ends in agent_error.
	task := agent.expect("task")
	second := task.str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": second, "content": "Ich sehe nach", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_error", "taskId": second, "error": "the model is overloaded"})
	end = client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == second })
	if end.str("status") != "error" || end.str("content") != "Ich sehe nach" || end.obj("error").str("code") != "agent_error" ||
		end.obj("error").str("message") != "the model is overloaded" {
		t.Fatalf("stream_end = %v", end)
	}
	agent.pingPast("error") // the late chunk is not answered
	// Cancelling an unknown or foreign reply: not_found.
	client.send(map[string]any{"type": "cancel_stream", "messageId": "nope"})
	if e := client.expect("error"); e.str("code") != "not_found" || e.str("ref") != "nope" {
		t.Fatalf("error = %v", e)
	}
}

func TestAgentDisconnectMidStreamTimesOutAndQueueMovesOn(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_AGENT_IDLE_TIMEOUT": "1s"})
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)
	client.sendMessage(w.conv, "eins", "d-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	client.sendMessage(w.conv, "zwei", "d-2")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "halb", "mode": "delta"})
	client.expect("stream_chunk")
	_ = agent.ws.Close()

	began := time.Now()
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "error" || end.obj("error").str("code") != "agent_timeout" || end.str("content") != "halb" {
		t.Fatalf("stream_end = %v", end)
	}
	t.Logf("agent_timeout %s after the agent's socket closed (idle timeout 1s, sweep 200ms)", time.Since(began).Round(time.Millisecond))
	// The next reply starts; its agent is gone, so it ends agent_offline.
	next := client.expect("stream_start").str("messageId")
	end = client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == next })
	if end.obj("error").str("code") != "agent_offline" {
		t.Fatalf("next = %v", end)
	}
}

func TestKilledInstanceUnwedgesConversation(t *testing.T) {
	// Short enough to keep the test quick, long enough (refreshed every
	// 1.3 s) that the live driver keeps its mark through a stall.
	c := newCluster(t, map[string]string{"RELAY_ACTIVE_TTL": "4s"})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	agent := dialAgent(t, b, w.agentToken)
	client.sendMessage(w.conv, "vor dem Absturz", "k-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Teil ", "mode": "delta"})
	client.expect("stream_chunk")
	queued := client.sendMessage(w.conv, "in der Schlange", "k-2")
	if queued["queued"] != true {
		t.Fatalf("ack = %v", queued)
	}

	b.kill(t)
	agent.waitClosed()
	killed := time.Now()
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "error" || end.obj("error").str("code") != "interrupted" || end.str("content") != "Teil " {
		t.Fatalf("stream_end = %v", end)
	}
	t.Logf("un-wedged %s after the kill (RELAY_ACTIVE_TTL 4s)", time.Since(killed).Round(time.Millisecond))
	// The queue moved on at once: the next reply started and, with the
	// agent not yet back, ended agent_offline.
	next := client.expect("stream_start").str("messageId")
	if end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == next }); end.obj("error").str("code") != "agent_offline" {
		t.Fatalf("queued reply = %v", end)
	}
	// The agent comes back on the surviving instance and answers new sends.
	agent2 := dialAgent(t, a, w.agentToken)
	client.sendMessage(w.conv, "wieder da?", "k-3")
	task := agent2.expect("task")
	if task.obj("message").str("content") != "wieder da?" {
		t.Fatalf("task = %v", task)
	}
	agent2.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": "ok"})
	if got := client.collect(task.str("taskId"), nil); got.ended.str("content") != "ok" {
		t.Fatalf("end = %v", got.ended)
	}
	// The user messages were stored before their acks and are all there.
	var contents []string
	rows, err := c.db.Pool.Query(t.Context(), `select content from messages where conversation_id = $1 and role = 'user' order by seq`, w.conv)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		_ = rows.Scan(&s)
		contents = append(contents, s)
	}
	if fmt.Sprint(contents) != "[vor dem Absturz in der Schlange wieder da?]" {
		t.Fatalf("stored user messages = %v", contents)
	}
}

func TestGracefulShutdownHandsRepliesToTheAgentsNewInstance(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)
	client.sendMessage(w.conv, "weiter", "h-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "vorher ", "mode": "delta"})
	asm := &assembler{}
	if err := asm.apply(client.expect("stream_chunk")); err != nil {
		t.Fatal(err)
	}

	if err := b.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := agent.waitClosed(); code != 1001 {
		t.Fatalf("agent socket closed with %d, want 1001", code)
	}
	if code := onB.waitClosed(); code != 1001 {
		t.Fatalf("client socket closed with %d, want 1001", code)
	}
	select {
	case <-b.done:
	case <-time.After(10 * time.Second):
		t.Fatal("instance did not exit after SIGTERM")
	}
	if b.cmd.ProcessState.ExitCode() != 0 {
		t.Fatalf("exit code %d\n%s", b.cmd.ProcessState.ExitCode(), b.out.String())
	}
	// The agent reconnects elsewhere and goes on with the same task.
	agent2 := dialAgent(t, a, w.agentToken)
	agent2.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "nachher", "mode": "delta"})
	agent2.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, asm)
	if string(got.text) != "vorher nachher" || got.ended.str("status") != "complete" {
		t.Fatalf("got %q %v", got.text, got.ended)
	}
}

func TestFunctionEventsReachEverySocketAndRevokedSessionsAreClosed(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	onA := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	rdb, _ := testenv.Redis(t)
	pub := events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix})
	ev, err := events.New(events.ReactionAdded, w.conv, map[string]string{"messageId": "m1", "userId": "u2", "emoji": "👍"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.ToUsers(t.Context(), []string{w.users[0].ID}, ev); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{onA, onB} {
		got := p.expect("reaction_added")
		if got.str("id") != ev.ID || got.obj("data").str("emoji") != "👍" {
			t.Fatalf("event = %v", got)
		}
	}
	// Signing out elsewhere ends the sockets of that session.
	if _, err := c.db.Pool.Exec(t.Context(), `delete from "session" where "userId" = $1`, w.users[0].ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*peer{onA, onB} {
		if code := p.waitClosed(); code != 4001 {
			t.Fatalf("close %d, want 4001", code)
		}
	}
}
