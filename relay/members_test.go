package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Membership changes reach replies while they stream: the member removed (or
// everyone, when the conversation is deleted) gets no more of the reply, on
// whichever instance it is driven. Memberships change through the real REST
// routes, served by the local shim as a process on the cluster's database and
// Redis prefix.

var (
	shimOnce   sync.Once
	shimBinary string
	shimErr    error
)

// startShim runs the REST functions (cmd local) and returns their base URL.
func (c *cluster) startShim() string {
	t := c.t
	t.Helper()
	shimOnce.Do(func() {
		shimBinary = filepath.Join(filepath.Dir(relayBinary), "local")
		args := append([]string{"build", "-o", shimBinary}, testenv.CoverBuildArgs()...)
		out, err := exec.Command("go", append(args, "github.com/ari-chat/ari-server/local")...).CombinedOutput()
		if err != nil {
			shimErr = fmt.Errorf("building the shim: %v\n%s", err, out)
		}
	})
	if shimErr != nil {
		t.Fatal(shimErr)
	}
	port := freePort(t)
	cmd := exec.Command(shimBinary, "serve")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "PORT=" + strconv.Itoa(port),
		"UPLOAD_DIR=" + t.TempDir()}
	cmd.Env = append(cmd.Env, testenv.CoverEnv()...)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("shim output:\n%s", out.String())
		}
	})
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("shim did not come up: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// call sends a JSON request as user and returns the status.
func call(t *testing.T, method, url string, u testenv.TestUser, body any) int {
	t.Helper()
	status, _ := callJSON(t, method, url, u, body)
	return status
}

// callJSON sends a JSON request as user and returns the status and the
// answer, decoded loosely.
func callJSON(t *testing.T, method, url string, u testenv.TestUser, body any) (int, frame) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+u.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out frame
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// newGroup: a group owned by users[0] with the other users and the agents.
func newGroup(t *testing.T, db *store.DB, users []testenv.TestUser, agentIDs ...string) string {
	t.Helper()
	conv := newConversation(t, db, "group", users, agentIDs...)
	if _, err := db.Pool.Exec(context.Background(), `update conversation_members set role = 'owner'
		where conversation_id = $1 and user_id = $2`, conv, users[0].ID); err != nil {
		t.Fatal(err)
	}
	return conv
}

// quietUntilMarker publishes a marker event on the user's channel and reads
// the peer's frames up to it, failing on any frame that is bad. Every frame
// published for the user before the marker arrives before it.
func (p *peer) quietUntilMarker(c *cluster, userID string, bad func(frame) bool) {
	p.t.Helper()
	rdb, _ := testenv.Redis(p.t)
	ev, err := events.New(events.ReactionAdded, "marker", map[string]string{"emoji": "🏁"})
	if err != nil {
		p.t.Fatal(err)
	}
	if err := events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix}).ToUsers(p.t.Context(), []string{userID}, ev); err != nil {
		p.t.Fatal(err)
	}
	p.expectWhere("", func(f frame) bool {
		if bad(f) {
			p.t.Fatalf("unexpected %s: %v", f.str("type"), f)
		}
		return f.str("id") == ev.ID
	})
}

// groupReply is a group of Ada (owner, on instance 1) and Bob (on instance
// 2) with an agent whose reply to Ada has started; the sweepers are a minute
// apart, so nothing here is their doing.
type groupReply struct {
	c           *cluster
	api         string
	ada, bob    testenv.TestUser
	conv        string
	pa, pb      *peer
	agent       *peer
	reply, task string
}

// startGroupReply puts the agent's socket on instance 1 or 2 (agentOn).
func startGroupReply(t *testing.T, agentOn int) *groupReply {
	t.Helper()
	g := &groupReply{c: newCluster(t, map[string]string{"RELAY_SWEEP_INTERVAL": "1m"})}
	relays := []*relayProc{g.c.start(), g.c.start()}
	g.api = g.c.startShim()
	g.ada = testenv.NewUser(t, g.c.db, "Ada")
	g.bob = testenv.NewUser(t, g.c.db, "Bob")
	agentID, token := newAgent(t, g.c.db, g.ada, "Slow Bot")
	g.conv = newGroup(t, g.c.db, []testenv.TestUser{g.ada, g.bob}, agentID)
	g.pa = dialClient(t, relays[0], g.ada)
	g.pb = dialClient(t, relays[1], g.bob)
	g.agent = dialAgent(t, relays[agentOn-1], token)
	g.pa.sendMessage(g.conv, "erzähl", "g-1")
	g.reply = g.pa.expect("stream_start").str("messageId")
	g.pb.expectWhere("stream_start", func(f frame) bool { return f.str("messageId") == g.reply })
	g.task = g.agent.expect("task").str("taskId")
	return g
}

func TestRemovedMemberGetsNoMoreOfTheLiveReply(t *testing.T) {
	// The agent is on Bob's instance: the reply is driven there, and Bob's
	// frames are handed to his socket before Ada's are published to Redis.
	g := startGroupReply(t, 2)
	c, api, ada, bob, conv, pa, pb, agent, reply, task := g.c, g.api, g.ada, g.bob, g.conv, g.pa, g.pb, g.agent, g.reply, g.task
	var sent strings.Builder
	asm := &assembler{}
	chunk := func(text string) {
		sent.WriteString(text)
		agent.send(map[string]any{"type": "agent_chunk", "taskId": task, "content": text, "mode": "delta"})
		// Ada has everything sent so far.
		deadline := time.Now().Add(wait)
		for len(asm.text) < sent.Len() {
			f := pa.next(time.Until(deadline))
			if f == nil {
				t.Fatalf("Ada did not get %q within %s", text, wait)
			}
			if f.str("type") == "stream_chunk" && f.str("messageId") == reply {
				if err := asm.apply(f); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	chunk("eins ")
	pb.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })

	if st := call(t, http.MethodDelete, api+"/api/groups/"+conv+"/members/"+bob.ID, ada, nil); st != http.StatusNoContent {
		t.Fatalf("remove Bob: %d", st)
	}
	pb.expectWhere("member_removed", func(f frame) bool { return f.obj("data").str("memberId") == bob.ID })
	// Bounded wait for the removal to reach the instance driving the reply:
	// once a chunk reaches Ada, Bob's copy (if he still gets one) is in his
	// socket's queue ahead of the pong.
	start := time.Now()
	for i := 0; ; i++ {
		if time.Since(start) > wait {
			t.Fatalf("Bob still gets the reply %s after his removal", wait)
		}
		chunk(fmt.Sprintf("probe %d ", i))
		pb.send(map[string]any{"type": "ping"})
		bobGot := false
		for f := pb.expect(""); f.str("type") != "pong"; f = pb.expect("") {
			bobGot = bobGot || f.str("type") == "stream_chunk" && f.str("messageId") == reply
		}
		if !bobGot {
			break
		}
	}
	t.Logf("removal applied after %s", time.Since(start).Round(time.Millisecond))

	// A sync does not hand Bob the reply's text either.
	pb.send(map[string]any{"type": "sync"})
	res := pb.expect("sync_result")
	if streams, _ := res["activeStreams"].([]any); len(streams) != 0 {
		t.Fatalf("Bob's sync lists %v", streams)
	}
	for i := 0; i < 20; i++ {
		chunk(fmt.Sprintf("zwei %d ", i))
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": task})
	got := pa.collect(reply, asm)
	if string(got.text) != sent.String() || got.ended.str("status") != "complete" {
		t.Fatalf("Ada got %q, %v; want %q", got.text, got.ended, sent.String())
	}
	// Exactly one terminal state, for Ada; none of it for Bob.
	pa.quietUntilMarker(c, ada.ID, func(f frame) bool { return f.str("messageId") == reply })
	pb.quietUntilMarker(c, bob.ID, func(f frame) bool { return f.str("messageId") == reply })
	if status, _ := replyStatus(t, c.db, reply); status != "complete" {
		t.Fatalf("reply %s", status)
	}

	// Added back, Bob gets the next reply.
	if st := call(t, http.MethodPost, api+"/api/groups/"+conv+"/members", ada, map[string]string{"userId": bob.ID}); st != http.StatusCreated {
		t.Fatalf("add Bob: %d", st)
	}
	pb.expect("member_added")
	pa.sendMessage(conv, "noch einmal", "g-2")
	next := pb.expect("stream_start").str("messageId")
	task2 := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task2, "content": "wieder da", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": task2})
	if got := pb.collect(next, nil); string(got.text) != "wieder da" || got.ended.str("status") != "complete" {
		t.Fatalf("Bob got %q %v", got.text, got.ended)
	}
}

func TestDeletedConversationsLiveReplyStops(t *testing.T) {
	// The agent is on Ada's instance: Bob's frames go through Redis.
	g := startGroupReply(t, 1)
	c, api, ada, bob, conv, pa, pb, agent, reply, task := g.c, g.api, g.ada, g.bob, g.conv, g.pa, g.pb, g.agent, g.reply, g.task
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task, "content": "vorher", "mode": "delta"})
	for _, p := range []*peer{pa, pb} {
		p.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	}

	if st := call(t, http.MethodDelete, api+"/api/conversations/"+conv, ada, nil); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	for _, p := range []*peer{pa, pb} {
		p.expectWhere("conversation_deleted", func(f frame) bool { return f.str("conversationId") == conv })
	}
	// The agent is told at once (the sweeper, a minute away, plays no part).
	start := time.Now()
	cancel := agent.expectWhere("task_cancel", func(f frame) bool { return f.str("taskId") == task })
	if cancel.str("reason") != "conversation_deleted" {
		t.Fatalf("task_cancel = %v", cancel)
	}
	t.Logf("task_cancel after %s", time.Since(start).Round(time.Millisecond))
	// What the agent still sends reaches no one.
	for i := 0; i < 5; i++ {
		agent.send(map[string]any{"type": "agent_chunk", "taskId": task, "content": fmt.Sprintf(" nachher %d", i), "mode": "delta"})
	}
	agent.pingPast("error")
	pa.quietUntilMarker(c, ada.ID, func(f frame) bool { return f.str("messageId") == reply })
	pb.quietUntilMarker(c, bob.ID, func(f frame) bool { return f.str("messageId") == reply })
}
