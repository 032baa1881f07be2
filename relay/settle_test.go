package main

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// An agent's text holding U+0000 could never be saved (Postgres text refuses
// it): each such frame is refused with invalid_frame naming the key, and the
// reply carries on.
func TestAgentTextWithNULIsRefused(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "hello", "m-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	refused := func(field string) {
		t.Helper()
		f := agent.expect("error")
		if f.str("code") != "invalid_frame" || f.str("field") != field {
			t.Fatalf("error = %v, want invalid_frame naming %s", f, field)
		}
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hel\x00lo", "mode": "delta"})
	refused("content")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hello", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_error", "taskId": reply, "error": "bad\x00"})
	refused("error")
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply, "content": "Hello\x00"})
	refused("content")
	agent.send(map[string]any{"type": "skills", "skills": []map[string]any{{"name": "a\x00b"}}})
	refused("skills[0].name")
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, nil)
	if got.ended.str("status") != "complete" || got.ended.str("content") != "Hello" {
		t.Fatalf("stream_end = %v", got.ended)
	}
	if status, content := replyStatus(t, c.db, reply); status != "complete" || content != "Hello" {
		t.Fatalf("stored %s %q", status, content)
	}
}

// A settle that Postgres refuses (here a trigger; in the field any failure
// but an unreachable server) ends the reply in error internal at once with
// the text Postgres takes, tells the agent, and the queue moves on.
func TestSettleRefusedByPostgresEndsTheReply(t *testing.T) {
	c := newCluster(t, nil)
	ctx := context.Background()
	if _, err := c.db.Pool.Exec(ctx, `create or replace function test_refuse_marked() returns trigger language plpgsql as $$
		begin
			if new.status = 'complete' and new.content like '%refuse-me%' then raise exception 'refused by the test trigger'; end if;
			return new;
		end $$;
		create or replace trigger test_refuse_marked before update on messages for each row execute function test_refuse_marked();`); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.db.Pool.Exec(context.Background(), `drop trigger if exists test_refuse_marked on messages; drop function if exists test_refuse_marked()`)
	})
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)
	const refusedSettles = `ari_settle_failures_total{stage="refused"}`
	before := scrape(t, r)[refusedSettles]

	client.sendMessage(w.conv, "first", "m-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	if ack := client.sendMessage(w.conv, "second", "m-2"); ack["queued"] != true {
		t.Fatalf("second ack = %v, want queued", ack)
	}
	text := "please refuse-me now"
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": text, "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, nil)
	if got.ended.str("status") != "error" || got.ended.obj("error").str("code") != "internal" || got.ended.str("content") != text {
		t.Fatalf("stream_end = %v", got.ended)
	}
	if f := agent.expect("task_cancel"); f.str("taskId") != reply || f.str("reason") != "internal" {
		t.Fatalf("task_cancel = %v", f)
	}
	if status, content := replyStatus(t, c.db, reply); status != "error" || content != text {
		t.Fatalf("stored %s %q", status, content)
	}
	waitMetric(t, r, refusedSettles, exactly(before+1))
	reply2 := client.expect("stream_start").str("messageId")
	if task := agent.expect("task"); task.str("taskId") != reply2 {
		t.Fatalf("task = %v, want the queued reply %s", task, reply2)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply2, "content": "fine"})
	if got := client.collect(reply2, nil); got.ended.str("status") != "complete" {
		t.Fatalf("second stream_end = %v", got.ended)
	}
}

// pgProxy forwards TCP to Postgres until cut, which drops every connection
// and refuses new ones until restored: a Postgres that becomes unreachable
// for one relay while the shared test server keeps running.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			if !p.track(in) {
				continue
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(in)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

// track records c so that a cut closes it; while cut, c is closed at once and
// track reports false.
func (p *pgProxy) track(c net.Conn) bool {
	p.mu.Lock()
	cut := p.cut
	if !cut {
		p.conns[c] = true
	}
	p.mu.Unlock()
	if cut {
		c.Close()
	}
	return !cut
}

func (p *pgProxy) forward(in net.Conn) {
	defer in.Close()
	out, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(out) {
		return
	}
	defer out.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(out, in)
		out.Close()
		close(done)
	}()
	_, _ = io.Copy(in, out)
	in.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, in)
	delete(p.conns, out)
	p.mu.Unlock()
}

func (p *pgProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// A settle while Postgres is unreachable is retried for at most the active
// TTL; then the reply ends for its members (error internal, the text kept),
// the agent gets task_cancel, and once Postgres is back that end is saved and
// the queue moves on, with no second stream_end.
func TestSettleWithPostgresUnreachable(t *testing.T) {
	// The end reaches members after the active TTL: shorter than the
	// harness's, so that it comes well within the waits below.
	c := newCluster(t, map[string]string{"RELAY_ACTIVE_TTL": "5s"})
	u, err := url.Parse(c.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	c.env["DATABASE_URL"] = u.String()
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "first", "m-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	client.sendMessage(w.conv, "second", "m-2")
	text := "kept through the outage"
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": text, "mode": "delta"})
	a := &assembler{}
	if err := a.apply(client.expect("stream_chunk")); err != nil {
		t.Fatal(err)
	}

	proxy.setCut(true)
	cutAt := time.Now()
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, a)
	t.Logf("stream_end %s after Postgres became unreachable (RELAY_ACTIVE_TTL %s)", time.Since(cutAt).Round(time.Millisecond), c.env["RELAY_ACTIVE_TTL"])
	if got.ended.str("status") != "error" || got.ended.obj("error").str("code") != "internal" || got.ended.str("content") != text {
		t.Fatalf("stream_end = %v", got.ended)
	}
	if f := agent.expect("task_cancel"); f.str("taskId") != reply || f.str("reason") != "internal" {
		t.Fatalf("task_cancel = %v", f)
	}

	proxy.setCut(false)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, content := replyStatus(t, c.db, reply)
		if status == "error" && content == text {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored %s %q 30 s after Postgres came back, want error %q", status, content, text)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The queue moves on; the first reply got no second stream_end.
	deadline = time.Now().Add(30 * time.Second)
	var reply2 string
	for reply2 == "" {
		f := client.next(time.Until(deadline))
		if f == nil {
			t.Fatal("the queued reply did not start within 30 s of Postgres coming back")
		}
		switch {
		case f.str("type") == "stream_end" && f.str("messageId") == reply:
			t.Fatalf("a second stream_end for %s: %v", reply, f)
		case f.str("type") == "stream_start":
			reply2 = f.str("messageId")
		}
	}
	if task := agent.expect("task"); task.str("taskId") != reply2 {
		t.Fatalf("task = %v, want %s", task, reply2)
	}
}

// A word a little under a text-search lexeme's limit of 2,046 bytes is text
// like any other: the search key that lengthened it past the limit made the
// user message's insert and the reply's settle fail (migration 00034).
func TestWordsNearTheLexemeLimitAreSaved(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)

	client.sendMessage(w.conv, "see "+strings.Repeat("a", 2040), "m-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expect("task")
	text := strings.Repeat("é", 1020) + " " + strings.Repeat("z", 2046)
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": text, "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, nil)
	if got.ended.str("status") != "complete" || got.ended.str("content") != text {
		t.Fatalf("stream_end = %.200v", got.ended)
	}
	if status, content := replyStatus(t, c.db, reply); status != "complete" || content != text {
		t.Fatalf("stored %s %.80q", status, content)
	}
}
