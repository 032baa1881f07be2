package main

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/ops"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The operator's commands (shared/ops, `local conversation|agents|drain`)
// against two running instances: a conversation's live state, the agents
// by instance, and draining the instance that holds the agent, which then
// ends as on SIGTERM.
func TestOperatorCommands(t *testing.T) {
	c := newCluster(t, nil)
	idA, idB := "ops-a-"+testenv.RandomID(6), "ops-b-"+testenv.RandomID(6)
	c.env["RELAY_INSTANCE_ID"] = idA
	a := c.start()
	c.env["RELAY_INSTANCE_ID"] = idB
	b := c.start()
	w := newWorld(t, c)
	rdb, _ := testenv.Redis(t)
	keys := kv.Keys{Prefix: c.prefix}
	ctx := t.Context()

	agent := dialAgent(t, a, w.agentToken)
	client := dialClient(t, b, w.users[0])
	client.sendMessage(w.conv, "eins", "ops-1")
	active := client.expect("stream_start").str("messageId")
	if task := agent.expect("task"); task.str("taskId") != active {
		t.Fatalf("task %v, want %s", task, active)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": active, "content": "héllo ", "mode": "delta"})
	client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == active })
	ack := client.sendMessage(w.conv, "zwei", "ops-2")
	list, _ := ack["replies"].([]any)
	if len(list) != 1 {
		t.Fatalf("ack = %v, want one reply named", ack)
	}
	queued := frame(list[0].(map[string]any)).str("messageId")

	st, err := ops.Conversation(ctx, rdb, c.db, keys, w.conv)
	if err != nil {
		t.Fatal(err)
	}
	if st.Active != active || st.ActiveTTLMs <= 0 || len(st.Replies) != 2 {
		t.Fatalf("conversation state = %+v, want %s active with a TTL and one queued", st, active)
	}
	if r := st.Replies[0]; r.ID != active || r.Status != "streaming" || r.Buffered != int64(len("héllo ")) || r.Meta["agent"] != w.agentID || r.Meta["conv"] != w.conv {
		t.Fatalf("active reply = %+v", r)
	}
	if r := st.Replies[1]; r.ID != queued || r.Status != "pending" || r.Buffered != 0 {
		t.Fatalf("queued reply = %+v", r)
	}

	instances, err := ops.Agents(ctx, rdb, c.db, keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(instances) != 1 || instances[0].ID != idA || len(instances[0].Agents) != 1 ||
		instances[0].Agents[0].AgentID != w.agentID || instances[0].Agents[0].Name != "Echo Bot" {
		t.Fatalf("agents by instance = %+v, want only %s holding %s", instances, idA, w.agentID)
	}

	if heard, err := ops.Drain(ctx, rdb, keys, "no-such-instance"); err != nil || heard {
		t.Fatalf("drain of an unknown instance: heard %v, %v", heard, err)
	}
	if heard, err := ops.Drain(ctx, rdb, keys, idA); err != nil || !heard {
		t.Fatalf("drain %s: heard %v, %v", idA, heard, err)
	}
	if code := agent.waitClosed(); code != 1001 {
		t.Fatalf("the agent's socket on the drained instance closed with %d, want 1001 going away", code)
	}
	a.waitExited(t)
	// The reply it drove was handed over, not ended: the agent reconnects to
	// the other instance and finishes its task there (no task is sent again).
	agent = dialAgent(t, b, w.agentToken)
	agent.send(map[string]any{"type": "agent_chunk", "taskId": active, "content": "wörld", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": active})
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == active })
	if end.str("status") != "complete" || end.str("content") != "héllo wörld" {
		t.Fatalf("stream_end after the drain = %v", end)
	}
	if instances, err = ops.Agents(ctx, rdb, c.db, keys); err != nil || len(instances) != 1 || instances[0].ID != idB {
		t.Fatalf("agents by instance after the drain = %+v, %v", instances, err)
	}
}
