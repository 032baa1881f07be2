package main

import (
	"context"
	"testing"
	"time"
)

// Two relay deployments (different REDIS_PREFIX) on one database: each
// sweeper looks only at its own deployment's replies, and still ends its own
// replies whose instance died.
func TestDeploymentsSharingPostgresSweepOnlyTheirOwn(t *testing.T) {
	type deployment struct {
		c              *cluster
		w              *world
		live, survivor *relayProc
		client, agent  *peer
		watch          *peer // the user's socket on the surviving instance
		reply          string
	}
	var deps []*deployment
	for _, name := range []string{"one", "two"} {
		// Refreshed every 1.3 s: the live drivers keep their marks through a
		// stall, and a dead one's expires well within the waits below.
		d := &deployment{c: newCluster(t, map[string]string{"RELAY_ACTIVE_TTL": "4s"})}
		d.live, d.survivor = d.c.start(), d.c.start()
		d.w = newWorld(t, d.c)
		d.client = dialClient(t, d.live, d.w.users[0])
		d.watch = dialClient(t, d.survivor, d.w.users[0])
		d.agent = dialAgent(t, d.live, d.w.agentToken)
		d.client.sendMessage(d.w.conv, "hallo "+name, "dep-"+name)
		d.reply = d.client.expect("stream_start").str("messageId")
		d.agent.expect("task")
		d.agent.send(map[string]any{"type": "agent_chunk", "taskId": d.reply, "content": "Teil ", "mode": "delta"})
		d.client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == d.reply })
		var mark string
		if err := d.c.db.Pool.QueryRow(context.Background(), `select coalesce(relay_deployment, '<null>') from messages where id = $1`,
			d.reply).Scan(&mark); err != nil || mark != d.c.prefix {
			t.Fatalf("reply of %s: relay_deployment %q (%v), want %q", name, mark, err, d.c.prefix)
		}
		deps = append(deps, d)
	}
	// Every instance sweeps every 200 ms and sees both replies open in
	// Postgres, each with an active mark under one prefix only. Let many
	// sweeps pass (a wrong sweeper ends the other's reply at its first).
	time.Sleep(1500 * time.Millisecond)
	for _, d := range deps {
		if status, _ := replyStatus(t, d.c.db, d.reply); status != "streaming" {
			t.Fatalf("reply of deployment %s is %s after the other deployment's sweeps", d.c.prefix, status)
		}
	}
	// Each goes on to its one stream_end.
	d := deps[1]
	d.agent.send(map[string]any{"type": "agent_chunk", "taskId": d.reply, "content": "zwei", "mode": "delta"})
	d.agent.send(map[string]any{"type": "agent_complete", "taskId": d.reply})
	if got := d.client.collect(d.reply, &assembler{text: []byte("Teil ")}); string(got.text) != "Teil zwei" || got.ended.str("status") != "complete" {
		t.Fatalf("deployment two: %q %v", got.text, got.ended)
	}

	// Deployment one's instance dies mid-reply: its other instance ends the
	// reply as interrupted (the end reaches the user's socket there, which
	// only deployment one's relays publish to).
	d = deps[0]
	d.live.kill(t)
	end := d.watch.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == d.reply })
	if end.str("status") != "error" || end.obj("error").str("code") != "interrupted" || end.str("content") != "Teil " {
		t.Fatalf("stream_end = %v", end)
	}
	// And deployment two's, likewise, for a new reply.
	d = deps[1]
	d.client.sendMessage(d.w.conv, "noch einmal", "dep-two-2")
	d.reply = d.client.expect("stream_start").str("messageId")
	d.agent.expect("task")
	d.agent.send(map[string]any{"type": "agent_chunk", "taskId": d.reply, "content": "Teil ", "mode": "delta"})
	d.watch.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == d.reply })
	d.live.kill(t)
	end = d.watch.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == d.reply })
	if end.str("status") != "error" || end.obj("error").str("code") != "interrupted" {
		t.Fatalf("stream_end = %v", end)
	}
}
