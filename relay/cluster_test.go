package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// A master of a private Redis Cluster is killed while a reply streams
// through two relays (agent on one, the user on the other). The cluster
// promotes its replica; the relays recover by themselves: the reply ends
// exactly once, complete with all the text or error internal with a prefix
// of it, the same text stored and shown; and the next message streams
// through both instances again, byte for byte.
func TestRedisClusterFailoverMidStream(t *testing.T) {
	rc := testenv.StartRedisCluster(t)
	c := newCluster(t, map[string]string{"REDIS_URL": rc.URL, "REDIS_CLUSTER": "true"})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	agent := dialAgent(t, a, w.agentToken)
	client := dialClient(t, b, w.users[0])

	client.sendMessage(w.conv, "before the failover", "fo-1")
	reply := client.expect("stream_start").str("messageId")
	agent.expectWhere("task", func(f frame) bool { return f.str("taskId") == reply })
	victim := rc.MasterOf(t, kv.Keys{Prefix: c.prefix}.Stream(reply))

	var sent strings.Builder
	chunk := func(i int) {
		piece := "Stück " + strconv.Itoa(i) + " · "
		sent.WriteString(piece)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": piece, "mode": "delta"})
	}
	i := 0
	for ; i < 10; i++ {
		chunk(i)
		time.Sleep(20 * time.Millisecond)
	}
	// What a failover keeps is what reached the replica: the first chunks
	// are in the buffer (the client on the other instance has them through
	// Redis) and replicated before the kill. Asynchronous replication may
	// lose the writes the master acknowledged last; the end shows which.
	first := sent.Len()
	client.expectWhere("stream_chunk", func(f frame) bool {
		return f.str("messageId") == reply && int(f.num("offset"))+len(f.str("delta")) >= first
	})
	rc.WaitReplicated(t, victim)
	rc.Kill(t, victim)
	start := time.Now()
	// Chunks keep coming while the cluster fails over, and for a while after.
	for ; !rc.FailedOver(victim); i++ {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the cluster did not fail over from %s within 30s", victim)
		}
		chunk(i)
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("the cluster failed over in %s", time.Since(start).Round(time.Millisecond))
	for end := i + 10; i < end; i++ {
		chunk(i)
		time.Sleep(20 * time.Millisecond)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})

	status, content, code := replyEnd(t, c, client, reply, 60*time.Second)
	switch status {
	case "complete":
		if content != sent.String() {
			t.Fatalf("complete with %d bytes, the agent sent %d", len(content), sent.Len())
		}
	case "error":
		// The first chunks were replicated before the kill
		// (WaitReplicated), so a failover keeps at least those.
		if code != "internal" || !strings.HasPrefix(sent.String(), content) || content == "" {
			t.Fatalf("stream_end %s %q: want internal with a prefix of the text sent", code, content)
		}
	default:
		t.Fatalf("the reply ended %s", status)
	}
	if stored, storedText := replyStatus(t, c.db, reply); stored != status || storedText != content {
		t.Fatalf("stored %s (%d bytes), shown %s (%d bytes)", stored, len(storedText), status, len(content))
	}
	t.Logf("the reply ended %s with %d of %d bytes", status, len(content), sent.Len())

	// Recovered: a new reply streams through both instances, exactly. A
	// send right after the failover may still find a relay routing to the
	// dead master: its reply ends in error without starting (the sweeper
	// ends it once its active mark expires), and a person sends again.
	deadline := time.Now().Add(90 * time.Second)
	next := ""
	for n := 2; next == ""; n++ {
		client.sendMessage(w.conv, "after the failover", "fo-"+strconv.Itoa(n))
		f := client.expectWhereWithin("", time.Until(deadline), func(f frame) bool {
			return f.str("messageId") != reply && (f.str("type") == "stream_start" || f.str("type") == "stream_end")
		})
		if f.str("type") == "stream_start" {
			next = f.str("messageId")
		} else {
			t.Logf("a reply after the failover ended %s (%s) without starting; sending again", f.str("status"), f.obj("error").str("code"))
		}
	}
	agent.expectWhere("task", func(f frame) bool { return f.str("taskId") == next })
	var want strings.Builder
	for j := range 20 {
		piece := fmt.Sprintf("wieder %d ✓ ", j)
		want.WriteString(piece)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": next, "content": piece, "mode": "delta"})
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": next})
	got := client.collect(next, &assembler{})
	if got.ended.str("status") != "complete" || string(got.text) != want.String() || got.ended.str("content") != want.String() {
		t.Fatalf("after the failover: %s, assembled %q, final %q", got.ended.str("status"), got.text, got.ended.str("content"))
	}
}

// replyEnd waits for reply's end the way a client does: the stream_end, or,
// when the relay says sync_needed (its subscription broke in the failover,
// so the stream_end may be lost), a sync whose activeStreams no longer has
// the reply, which has then ended as history says.
func replyEnd(t *testing.T, c *cluster, p *peer, reply string, d time.Duration) (status, content, code string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		f := p.next(time.Until(deadline))
		if f == nil {
			t.Fatalf("no stream_end within %s", d)
		}
		switch f.str("type") {
		case "stream_end":
			if f.str("messageId") == reply {
				return f.str("status"), f.str("content"), f.obj("error").str("code")
			}
		case "sync_needed":
			t.Log("sync_needed")
			p.send(map[string]any{"type": "sync"})
		case "sync_result":
			streams, _ := f["activeStreams"].([]any)
			active := false
			for _, s := range streams {
				if m, _ := s.(map[string]any); m["messageId"] == reply {
					active = true
				}
			}
			if active {
				continue
			}
			m, err := c.db.Message(t.Context(), reply)
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == "streaming" {
				// Ended in Redis, its end not yet in Postgres: sync again.
				time.Sleep(50 * time.Millisecond)
				p.send(map[string]any{"type": "sync"})
				continue
			}
			if m.Error != nil {
				code = *m.Error
			}
			return m.Status, m.Content, code
		}
	}
}
