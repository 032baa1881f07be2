package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// How the relay recovers from what a crashed instance or a restarted Redis
// leaves behind, through real relay processes.

// storeSend stores a user message with a pending reply of agentID the way
// the relay does, without queueing it: what an instance leaves behind that
// died between storing a send and queueing its reply.
func storeSend(t *testing.T, c *cluster, u testenv.TestUser, conv, agentID, content string) string {
	t.Helper()
	sent, err := c.db.InsertUserMessage(t.Context(), store.NewUserMessage{UserID: u.ID, ConversationID: conv, Content: content,
		ClientMessageID: content, ReplyAgentIDs: []string{agentID}, Deployment: c.prefix, SessionID: sessionID(t, c, u.Token)})
	if err != nil || len(sent.Replies) != 1 {
		t.Fatalf("storing %q: %v (%d replies)", content, err, len(sent.Replies))
	}
	return sent.Replies[0].ID
}

// The sweeper restarts a stalled queue (replies waiting, none active: an
// instance died between ending one reply and starting the next) and puts
// orphaned pending replies (stored, never queued) back in seq order ahead
// of what is queued.
func TestSweeperRestartsStalledQueuesAndOrphanedReplies(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	rdb, _ := testenv.Redis(t)
	// answer takes the next task of agent, which must be for want, and
	// completes it.
	answer := func(agent, client *peer, want string) {
		t.Helper()
		task := agent.expect("task")
		if task.str("taskId") != want {
			t.Fatalf("task for %s (%q), want %s", task.str("taskId"), task.obj("message").str("content"), want)
		}
		agent.send(map[string]any{"type": "agent_complete", "taskId": want, "content": "re: " + task.obj("message").str("content")})
		if got := client.collect(want, nil); got.ended.str("status") != "complete" {
			t.Fatalf("reply %s = %v", want, got.ended)
		}
	}

	// Stalled: queued, nothing active, no live instance will start it.
	w := newWorld(t, c)
	u := w.users[0]
	client, agent := dialClient(t, r, u), dialAgent(t, r, w.agentToken)
	queue := kv.Keys{Prefix: c.prefix}.ConvQueue(w.conv)
	stalled := storeSend(t, c, u, w.conv, w.agentID, "stalled")
	if err := rdb.RPush(t.Context(), queue, stalled).Err(); err != nil {
		t.Fatal(err)
	}
	answer(agent, client, stalled)
	agent.pingPast("task")
	if n := rdb.LLen(t.Context(), queue).Val(); n != 0 {
		t.Fatalf("%d entries left in the queue", n)
	}

	// Orphaned: two replies in no queue, older than the sweeper's grace, and
	// a later one that is queued. The orphans are older, so they go first.
	// In a conversation of its own: in the first one the relay may still be
	// between releasing the stalled reply and looking at the queue after
	// the client saw stream_end, and would start the queued reply itself.
	w2 := newWorld(t, c)
	u2 := w2.users[0]
	client2, agent2 := dialClient(t, r, u2), dialAgent(t, r, w2.agentToken)
	queue2 := kv.Keys{Prefix: c.prefix}.ConvQueue(w2.conv)
	orphan1 := storeSend(t, c, u2, w2.conv, w2.agentID, "orphan 1")
	orphan2 := storeSend(t, c, u2, w2.conv, w2.agentID, "orphan 2")
	queued := storeSend(t, c, u2, w2.conv, w2.agentID, "queued")
	// Aged instead of waiting out the grace; before the queued one is
	// pushed, so that no sweep can take it for the head on its own.
	if _, err := c.db.Pool.Exec(t.Context(), `update messages set created_at = created_at - interval '1 minute' where id = any($1)`,
		[]string{orphan1, orphan2}); err != nil {
		t.Fatal(err)
	}
	if err := rdb.RPush(t.Context(), queue2, queued).Err(); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{orphan1, orphan2, queued} {
		answer(agent2, client2, id)
	}
	agent2.pingPast("task")
	if n := rdb.LLen(t.Context(), queue2).Val(); n != 0 {
		t.Fatalf("%d entries left in the queue", n)
	}
}

// A newer socket of an agent on another instance replaces the older one
// (4004) and goes on streaming the task the older one received.
func TestAgentReplacedFromAnotherInstance(t *testing.T) {
	c := newCluster(t, nil)
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	old := dialAgent(t, a, w.agentToken)

	client.sendMessage(w.conv, "übernimm", "rep-1")
	reply := old.expect("task").str("taskId")
	old.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "eins ", "mode": "delta"})
	asm := &assembler{}
	if err := asm.apply(client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })); err != nil {
		t.Fatal(err)
	}

	newer := dialAgent(t, b, w.agentToken)
	if code := old.waitClosed(); code != 4004 {
		t.Fatalf("the older socket closed with %d, want 4004", code)
	}
	newer.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "zwei", "mode": "delta"})
	newer.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, asm)
	if string(got.text) != "eins zwei" || got.ended.str("status") != "complete" || got.ended.str("content") != "eins zwei" {
		t.Fatalf("assembled %q, end %v", got.text, got.ended)
	}
	// New tasks go to the newer socket.
	client.sendMessage(w.conv, "und jetzt?", "rep-2")
	task := newer.expect("task")
	newer.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": "hier"})
	if got := client.collect(task.str("taskId"), nil); got.ended.str("content") != "hier" {
		t.Fatalf("second reply = %v", got.ended)
	}
}

// ownRedis is a redis-server of this test's own, which it may restart (the
// shared test Redis is everyone's).
type ownRedis struct {
	t    *testing.T
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	rdb  redis.UniversalClient
}

func startOwnRedis(t *testing.T) *ownRedis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatalf("redis-server is needed for this test: %v", err)
	}
	o := &ownRedis{t: t, port: freePort(t), dir: t.TempDir()}
	o.rdb = redis.NewClient(&redis.Options{Addr: o.addr()})
	t.Cleanup(func() {
		_ = o.rdb.Close()
		o.stop(false)
	})
	o.run()
	return o
}

func (o *ownRedis) addr() string { return "127.0.0.1:" + strconv.Itoa(o.port) }

// run starts the server on the same port and directory, so it loads what the
// previous one saved, and waits until it answers.
func (o *ownRedis) run() {
	t := o.t
	t.Helper()
	o.cmd = exec.Command("redis-server", "--port", strconv.Itoa(o.port), "--bind", "127.0.0.1", "--dir", o.dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(o.dir, "redis.log"))
	o.done = make(chan struct{})
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := o.done
	go func() { _ = o.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(wait)
	for o.rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(o.dir, "redis.log"))
			t.Fatalf("own redis-server did not answer within %s:\n%s", wait, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down, saving its data first when save is set.
func (o *ownRedis) stop(save bool) {
	if o.cmd == nil {
		return
	}
	select {
	case <-o.done:
		return
	default:
	}
	if save {
		_ = o.rdb.ShutdownSave(context.Background()).Err() // answers with the connection closing
	} else {
		_ = o.cmd.Process.Kill()
	}
	select {
	case <-o.done:
	case <-time.After(wait):
		_ = o.cmd.Process.Kill()
		<-o.done
		o.t.Errorf("own redis-server did not stop within %s", wait)
	}
}

// shardSubscribers is how many subscriptions Redis counts on channel.
func (o *ownRedis) shardSubscribers(channel string) int64 {
	res, err := o.rdb.PubSubShardNumSub(context.Background(), channel).Result()
	if err != nil {
		return -1
	}
	return res[channel]
}

// Redis restarts (its data saved and loaded, its script cache and every
// subscription gone) under two live relays in the middle of a reply: the
// relays reconnect, load their scripts again and take their subscriptions
// back, tell their client sockets to sync (sync_needed), and the reply, the
// next send and events go on as before.
func TestRedisRestartUnderLiveRelays(t *testing.T) {
	own := startOwnRedis(t)
	// A longer active TTL than the default: the restart must not pass for a
	// dead instance. It is printed below.
	c := newCluster(t, map[string]string{"REDIS_URL": "redis://" + own.addr() + "/0", "REDIS_CLUSTER": "false", "RELAY_ACTIVE_TTL": "15s"})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	onB := dialClient(t, b, w.users[0])
	agent := dialAgent(t, b, w.agentToken)
	keys := kv.Keys{Prefix: c.prefix}

	client.sendMessage(w.conv, "vorher", "rr-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "vor ", "mode": "delta"})
	asm := &assembler{}
	if err := asm.apply(client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })); err != nil {
		t.Fatal(err)
	}

	// The chunk is in the buffer (clients may see it a round trip sooner)
	// before Redis goes down.
	deadline := time.Now().Add(wait)
	for own.rdb.Get(t.Context(), keys.Stream(reply)).Val() != "vor " {
		if time.Now().After(deadline) {
			t.Fatalf("the buffer holds %q, not the first chunk, after %s", own.rdb.Get(t.Context(), keys.Stream(reply)).Val(), wait)
		}
		time.Sleep(20 * time.Millisecond)
	}

	began := time.Now()
	own.stop(true)
	own.run()
	t.Logf("Redis was down for %s", time.Since(began).Round(time.Millisecond))
	if err := own.rdb.ScriptFlush(t.Context()).Err(); err != nil { // nothing cached survives a restart; to be sure
		t.Fatal(err)
	}
	// Both relays take their subscriptions back: the user's channel on a,
	// the agent's on b.
	deadline = time.Now().Add(30 * time.Second)
	for own.shardSubscribers(keys.UserChannel(w.users[0].ID)) < 1 || own.shardSubscribers(keys.AgentChannel(w.agentID)) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("subscriptions not restored within 30 s: user channel %d, agent channel %d",
				own.shardSubscribers(keys.UserChannel(w.users[0].ID)), own.shardSubscribers(keys.AgentChannel(w.agentID)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("subscriptions restored %s after the restart began", time.Since(began).Round(time.Millisecond))
	// What was published meanwhile is lost: each relay tells the user's
	// socket it holds to sync.
	for _, p := range []*peer{client, onB} {
		p.expect("sync_needed")
	}
	// Each relay serves requests that need Redis again (a sync takes the
	// pending events from Redis; until the relay's connection pool dials
	// again it answers error internal).
	for _, p := range []*peer{client, onB} {
		for {
			p.send(map[string]any{"type": "sync"})
			f := p.expectWhere("", func(f frame) bool { return f.str("type") == "sync_result" || f.str("type") == "error" })
			if f.str("type") == "sync_result" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("a relay still fails sync 30 s after Redis came back: %v", f)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("both relays serve again %s after the restart began", time.Since(began).Round(time.Millisecond))

	// The reply goes on: a chunk through b's scripts and pub/sub to a.
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "nach", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	got := client.collect(reply, asm)
	if string(got.text) != "vor nach" || got.ended.str("status") != "complete" || got.ended.str("content") != "vor nach" {
		t.Fatalf("after the restart: assembled %q, end %v", got.text, got.ended)
	}
	if status, content := replyStatus(t, c.db, reply); status != "complete" || content != "vor nach" {
		t.Fatalf("stored %s %q", status, content)
	}
	// A new send: queue scripts on a, the task over the agent's channel to b.
	client.sendMessage(w.conv, "nachher", "rr-2")
	task := agent.expect("task")
	if task.obj("message").str("content") != "nachher" {
		t.Fatalf("task = %v", task)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "wieder da", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId")})
	if got := client.collect(task.str("taskId"), nil); string(got.text) != "wieder da" || got.ended.str("status") != "complete" {
		t.Fatalf("second reply: %q %v", got.text, got.ended)
	}
	// Events from the functions reach the socket.
	ev, err := events.New(events.ReactionAdded, w.conv, map[string]string{"messageId": reply, "userId": w.users[0].ID, "emoji": "🔁"})
	if err != nil {
		t.Fatal(err)
	}
	if err := events.NewPublisher(own.rdb, keys).ToUsers(t.Context(), []string{w.users[0].ID}, ev); err != nil {
		t.Fatal(err)
	}
	if got := client.expect("reaction_added"); got.str("id") != ev.ID {
		t.Fatalf("event = %v", got)
	}
	for _, p := range []*relayProc{a, b} {
		select {
		case <-p.done:
			t.Fatalf("relay %s exited", p.addr)
		default:
		}
	}
}

// A chunk the agent sends while Redis is down cannot reach the buffer: the
// reply has a hole, so it must not end complete. Once Redis is back, the
// agent's next chunk and its agent_complete end the reply in error internal
// with the text the buffer kept; nothing is appended after the hole.
func TestChunksLostWhileRedisIsDownEndTheReplyInError(t *testing.T) {
	own := startOwnRedis(t)
	c := newCluster(t, map[string]string{"REDIS_URL": "redis://" + own.addr() + "/0", "REDIS_CLUSTER": "false", "RELAY_ACTIVE_TTL": "60s"})
	a := c.start()
	w := newWorld(t, c)
	client := dialClient(t, a, w.users[0])
	agent := dialAgent(t, a, w.agentToken)
	keys := kv.Keys{Prefix: c.prefix}

	client.sendMessage(w.conv, "ein Loch", "hole-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "vor ", "mode": "delta"})
	deadline := time.Now().Add(wait)
	for own.rdb.Get(t.Context(), keys.Stream(reply)).Val() != "vor " {
		if time.Now().After(deadline) {
			t.Fatalf("the buffer holds %q, not the first chunk, after %s", own.rdb.Get(t.Context(), keys.Stream(reply)).Val(), wait)
		}
		time.Sleep(20 * time.Millisecond)
	}

	own.stop(true)
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "mitten ", "mode": "delta"})
	// The relay tried to end the reply and could not: Redis is down. The
	// next chunk finds it so again (the reply stays lost on this instance
	// however often that happens).
	failed := waitMetric(t, a, `ari_settle_failures_total{stage="buffer"}`, atLeast(1))
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "immer noch ", "mode": "delta"})
	waitMetric(t, a, `ari_settle_failures_total{stage="buffer"}`, atLeast(failed+1))
	own.run()
	// The relay reaches Redis again (it has its subscriptions back) well
	// before its next heartbeat would retry the end: the agent's next chunk
	// finds the reply still lost.
	deadline = time.Now().Add(30 * time.Second)
	for own.shardSubscribers(keys.UserChannel(w.users[0].ID)) < 1 || own.shardSubscribers(keys.AgentChannel(w.agentID)) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("subscriptions not restored within 30 s")
		}
		time.Sleep(20 * time.Millisecond)
	}

	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "nach", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": reply})
	deadline = time.Now().Add(30 * time.Second)
	status, content := replyStatus(t, c.db, reply)
	for status == "streaming" {
		if time.Now().After(deadline) {
			t.Fatalf("the reply is still streaming 30 s after Redis came back (%q)", content)
		}
		time.Sleep(50 * time.Millisecond)
		status, content = replyStatus(t, c.db, reply)
	}
	if status != "error" || content != "vor " {
		t.Fatalf("stored %s %q; want error with the text kept before the outage, %q", status, content, "vor ")
	}
	if got := own.rdb.Get(t.Context(), keys.Stream(reply)).Val(); got != "vor " {
		t.Fatalf("the buffer holds %q after the end; want %q", got, "vor ")
	}
}

// The instance settling a reply dies after closing the reply's buffer and
// before saving its end in Postgres. The agent, reconnected to another
// instance, sends its end again: the reply ends there at once, complete with
// its text (not by a silence timeout minutes later).
func TestEndSentAgainAfterTheSettlingInstanceDied(t *testing.T) {
	c := newCluster(t, map[string]string{})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, b, w.users[0])
	agent := dialAgent(t, a, w.agentToken)
	keys := kv.Keys{Prefix: c.prefix}
	rdb, _ := testenv.Redis(t)

	client.sendMessage(w.conv, "bis gleich", "fin-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "fast fertig", "mode": "delta"})
	// b gets the published copy of the chunk, which follows its append.
	client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	// What settling does first (endScript), then the instance dies.
	if err := rdb.HSet(t.Context(), keys.StreamMeta(reply), "ended", "1").Err(); err != nil {
		t.Fatal(err)
	}
	a.kill(t)

	again := dialAgent(t, b, w.agentToken)
	again.send(map[string]any{"type": "agent_complete", "taskId": reply})
	end := client.expectWhereWithin("stream_end", 10*time.Second, func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "complete" || end.str("content") != "fast fertig" {
		t.Fatalf("stream_end = %v", end)
	}
	if status, content := replyStatus(t, c.db, reply); status != "complete" || content != "fast fertig" {
		t.Fatalf("stored %s %q", status, content)
	}
	// An end for a reply that ended for good changes nothing.
	again.send(map[string]any{"type": "agent_error", "taskId": reply, "error": "zu spät"})
	again.pingPast("error")
	if status, _ := replyStatus(t, c.db, reply); status != "complete" {
		t.Fatalf("a late agent_error made it %s", status)
	}
}

// An instance that stops after saving a reply's end and before announcing it
// leaves a note (relay/stream/recover.go); another instance's sweeper tells
// the members, once, and moves the conversation's queue on long before the
// active mark would have expired (60 s here).
func TestEndSavedByAStoppedInstanceIsAnnounced(t *testing.T) {
	c := newCluster(t, map[string]string{"RELAY_ACTIVE_TTL": "60s"})
	a, b := c.start(), c.start()
	w := newWorld(t, c)
	client := dialClient(t, b, w.users[0])
	agent := dialAgent(t, a, w.agentToken)
	keys := kv.Keys{Prefix: c.prefix}
	rdb, _ := testenv.Redis(t)
	ctx := t.Context()

	client.sendMessage(w.conv, "erste", "saved-1")
	reply := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "fast", "mode": "delta"})
	client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	next := client.sendMessage(w.conv, "zweite", "saved-2") // queued behind the first reply
	replies, _ := next["replies"].([]any)
	if len(replies) != 1 || next["queued"] != true {
		t.Fatalf("ack = %v", next)
	}
	nextReply := frame(replies[0].(map[string]any)).str("messageId")
	// What settling does up to the save (the end script, the note, the
	// UPDATE; the save as long ago as the grace), then the instance dies.
	if err := rdb.HSet(ctx, keys.StreamMeta(reply), "ended", "1").Err(); err != nil {
		t.Fatal(err)
	}
	note := reply + "\n\ncomplete\n\n\n" // stream.settleNote.member's form
	if err := rdb.ZAdd(ctx, keys.Settling(), redis.Z{Score: float64(time.Now().Add(-11 * time.Second).UnixMilli()), Member: note}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Pool.Exec(ctx, `update messages set status = 'complete', content = 'fast fertig',
		completed_at = now() - interval '11 seconds', updated_at = now() where id = $1`, reply); err != nil {
		t.Fatal(err)
	}
	a.kill(t)
	again := dialAgent(t, b, w.agentToken)

	end := client.expectWhereWithin("stream_end", 10*time.Second, func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "complete" || end.str("content") != "fast fertig" {
		t.Fatalf("stream_end = %v", end)
	}
	waitMetric(t, b, "ari_settle_recovered_total", exactly(1))
	// The queue moved on: the agent, back on b, gets the next task.
	if task := again.expectWhereWithin("task", 10*time.Second, func(frame) bool { return true }); task.str("taskId") != nextReply {
		t.Fatalf("task = %v, want %s", task, nextReply)
	}
	// Once: later sweeps (every 200 ms) find no note.
	time.Sleep(time.Second)
	client.pingPast("stream_end")
	if n, err := rdb.ZCard(ctx, keys.Settling()).Result(); err != nil || n != 0 {
		t.Fatalf("notes left: %d (%v)", n, err)
	}
}

// The same for a channel's reply: the channel hears channel_stream_end with
// the saved message's text and seq from another instance's sweeper.
func TestChannelEndSavedByAStoppedInstanceIsAnnounced(t *testing.T) {
	w := newChannelWorld(t, map[string]string{"RELAY_ACTIVE_TTL": "60s"})
	_, token := w.agent(t, "Echo Bot", true, true)
	agent := dialAgent(t, w.a, token)
	pb := dialClient(t, w.b, w.bob)
	subscribeChannel(t, pb, w.general)
	keys := kv.Keys{Prefix: w.c.prefix}
	rdb, _ := testenv.Redis(t)
	ctx := t.Context()

	sent := w.say(t, w.bob, "@echo-bot hallo")
	reply := sent.Replies[0].ID
	if task := agent.expect("task"); task.str("taskId") != reply {
		t.Fatalf("task = %v", task)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": reply, "content": "Hallo ", "mode": "delta"})
	pb.expectWhere("channel_stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	if err := rdb.HSet(ctx, keys.StreamMeta(reply), "ended", "1").Err(); err != nil {
		t.Fatal(err)
	}
	note := reply + "\n" + w.general + "\ncomplete\n\n\n" // stream.settleNote.member's form
	if err := rdb.ZAdd(ctx, keys.Settling(), redis.Z{Score: float64(time.Now().Add(-11 * time.Second).UnixMilli()), Member: note}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, settled, err := w.c.db.SettleChannelReply(ctx, reply, "complete", "Hallo Kanal", ""); err != nil || !settled {
		t.Fatalf("settle: %v %v", settled, err)
	}
	if _, err := w.c.db.Pool.Exec(ctx, `update channel_replies set ended_at = now() - interval '11 seconds' where id = $1`, reply); err != nil {
		t.Fatal(err)
	}
	w.a.kill(t)

	end := pb.expectWhereWithin("channel_stream_end", 10*time.Second, func(f frame) bool { return f.str("messageId") == reply })
	if _, seq, content := channelReplyRow(t, w.c.db, reply); end.str("status") != "complete" || end.str("content") != "Hallo Kanal" ||
		end.num("seq") != seq || content != "Hallo Kanal" {
		t.Fatalf("channel_stream_end = %v (saved seq %d)", end, seq)
	}
	waitMetric(t, w.b, "ari_settle_recovered_total", exactly(1))
	time.Sleep(time.Second) // later sweeps (every 200 ms) find no note
	pb.pingPast("channel_stream_end")
}
