package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Agents in community channels (PROTOCOL.md section 18, "Agents in
// channels"), through real relay processes on two instances.

type channelWorld struct {
	c        *cluster
	a, b     *relayProc
	ada, bob testenv.TestUser
	comm     string
	general  string
	jobs     *relayjob.Client
	pub      *events.Publisher
}

func newChannelWorld(t *testing.T, env map[string]string) *channelWorld {
	t.Helper()
	c := newCluster(t, env)
	w := &channelWorld{c: c, a: c.start(), b: c.start()}
	ctx := context.Background()
	w.ada = testenv.NewUser(t, c.db, "Ada")
	w.bob = testenv.NewUser(t, c.db, "Bob")
	comm, err := c.db.CreateCommunity(ctx, w.ada.ID, store.NewCommunity{Name: "Kanäle", Slug: "kanaele-" + strings.ToLower(w.ada.ID[:8]), Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	w.comm = comm.ID
	if _, err := c.db.JoinCommunity(ctx, w.bob.ID, comm.ID); err != nil {
		t.Fatal(err)
	}
	list, err := c.db.Channels(ctx, w.ada.ID, comm.ID)
	if err != nil || len(list) == 0 {
		t.Fatalf("channels: %v %v", list, err)
	}
	w.general = list[0].ID
	rdb, _ := testenv.Redis(t)
	keys := kv.Keys{Prefix: c.prefix}
	w.jobs = &relayjob.Client{Redis: rdb, Keys: keys}
	w.pub = events.NewPublisher(rdb, keys)
	return w
}

// agent makes an agent of Ada's; in the community when inCommunity, and
// allowed to answer in general when inChannel.
func (w *channelWorld) agent(t *testing.T, name string, inCommunity, inChannel bool) (id, token string) {
	t.Helper()
	ctx := context.Background()
	id, token = newAgent(t, w.c.db, w.ada, name)
	if inCommunity {
		if _, err := w.c.db.AddCommunityAgent(ctx, w.ada.ID, w.comm, id); err != nil {
			t.Fatal(err)
		}
	}
	if inChannel {
		if _, err := w.c.db.AddChannelAgent(ctx, w.ada.ID, w.general, id); err != nil {
			t.Fatal(err)
		}
	}
	return id, token
}

// say sends a channel message as functions/communities does: stored (with
// the replies it starts), published, its replies queued for the relay.
func (w *channelWorld) say(t *testing.T, u testenv.TestUser, text string) store.ChannelSend {
	t.Helper()
	ctx := context.Background()
	s, err := w.c.db.SendChannelMessage(ctx, store.NewChannelMessage{UserID: u.ID, ChannelID: w.general, Content: text,
		ClientMessageID: fmt.Sprintf("cm-%d", time.Now().UnixNano()), Deployment: w.jobs.Deployment()})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.NewForChannel(events.ChannelMessageNew, w.general, map[string]any{"message": s.Message})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.pub.ToChannel(ctx, ev); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(s.Replies))
	for i, r := range s.Replies {
		ids[i] = r.ID
	}
	if err := w.jobs.QueueChannelReplies(ctx, w.general, ids); err != nil {
		t.Fatal(err)
	}
	return s
}

func subscribeChannel(t *testing.T, p *peer, channelID string) frame {
	t.Helper()
	p.send(map[string]any{"type": "channel_subscribe", "channelId": channelID})
	f := p.expectWhere("", func(f frame) bool {
		return (f.str("type") == "channel_subscribed" && f.str("channelId") == channelID) || f.str("type") == "error"
	})
	if f.str("type") != "channel_subscribed" {
		t.Fatalf("subscribe = %v", f)
	}
	return f
}

// collectChannel reads one channel reply's frames until its
// channel_stream_end, assembling the text by offsets.
func collectChannel(p *peer, messageID string, a *assembler) *assembler {
	p.t.Helper()
	if a == nil {
		a = &assembler{}
	}
	deadline := time.Now().Add(wait)
	for a.ended == nil {
		f := p.next(time.Until(deadline))
		if f == nil {
			p.t.Fatalf("channel reply %s did not end within %s (have %q)", messageID, wait, a.text)
		}
		if f.str("messageId") != messageID {
			continue
		}
		switch f.str("type") {
		case "channel_stream_chunk":
			if err := a.apply(f); err != nil {
				p.t.Fatal(err)
			}
		case "channel_stream_end":
			a.ended = f
		}
	}
	return a
}

func channelReplyRow(t *testing.T, db *store.DB, id string) (status string, seq int64, content string) {
	t.Helper()
	if err := db.Pool.QueryRow(context.Background(), `select r.status, coalesce(m.seq, 0), coalesce(m.content, '')
		from channel_replies r left join channel_messages m on m.id = r.id where r.id = $1`, id).Scan(&status, &seq, &content); err != nil {
		t.Fatal(err)
	}
	return status, seq, content
}

// A mention of a channel agent: the agent (a Go SDK agent on instance B)
// gets a task that says it is in a channel, with the channel's newest
// messages; subscribers on both instances see the reply stream and end,
// then the saved message, from the agent, at the channel's next seq. An
// agent of the community not attached to the channel, and one not in the
// community, are mentioned and stay silent; an agent's socket never gets
// the channel's traffic.
func TestChannelMentionStreamsTheAgentsReply(t *testing.T) {
	w := newChannelWorld(t, nil)
	ctx := context.Background()
	echoID, echoToken := w.agent(t, "Echo Bot", true, true)
	_, lurkerToken := w.agent(t, "Lurker Bot", true, false)
	_, strangerToken := w.agent(t, "Stranger Bot", false, false)

	pieces := []string{"Grüße ", "aus dem ", "Kanal — ✓"}
	tasks := make(chan *agentsdk.Task, 4)
	sdkCtx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	agent, err := agentsdk.Connect(sdkCtx, agentsdk.Config{URL: "ws://" + w.b.addr + "/ws/agent", Token: echoToken,
		Handler: func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
			tasks <- task
			for _, p := range pieces {
				if err := s.Write(p); err != nil {
					return err
				}
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = agent.Wait() })
	lurker := dialAgent(t, w.a, lurkerToken)
	stranger := dialAgent(t, w.b, strangerToken)

	pa, pb := dialClient(t, w.a, w.ada), dialClient(t, w.b, w.bob)
	subscribeChannel(t, pa, w.general)
	subscribeChannel(t, pb, w.general)
	w.say(t, w.bob, "Erste Nachricht im Kanal")
	w.say(t, w.ada, "Zweite Nachricht")

	sent := w.say(t, w.bob, "@echo-bot @lurker-bot @stranger-bot hallo zusammen")
	if len(sent.Replies) != 1 || sent.Replies[0].AgentID != echoID {
		t.Fatalf("replies = %+v, want one, Echo's", sent.Replies)
	}
	replyID := sent.Replies[0].ID

	var task *agentsdk.Task
	select {
	case task = <-tasks:
	case <-time.After(wait):
		t.Fatal("the agent got no task")
	}
	if task.TaskID != replyID || task.ConversationID != "" || task.Channel == nil || task.Channel.ID != w.general ||
		task.Channel.CommunityID != w.comm || task.Channel.CommunityName != "Kanäle" || task.Channel.Name == "" {
		t.Fatalf("task = %+v (channel %+v)", task, task.Channel)
	}
	if task.Message.ID != sent.Message.ID || task.Message.Content != "@echo-bot @lurker-bot @stranger-bot hallo zusammen" ||
		task.Message.Sender.ID != w.bob.ID || task.Message.Sender.Name != "Bob" {
		t.Fatalf("task message = %+v", task.Message)
	}
	if len(task.History) != 2 || task.History[0].Content != "Erste Nachricht im Kanal" || task.History[0].SenderName != "Bob" ||
		task.History[1].Content != "Zweite Nachricht" || task.History[1].Role != "user" {
		t.Fatalf("task history = %+v", task.History)
	}

	want := strings.Join(pieces, "")
	var seq int64
	for _, p := range []*peer{pa, pb} {
		start := p.expectWhere("channel_stream_start", func(f frame) bool { return f.str("messageId") == replyID })
		if start.str("channelId") != w.general || start.str("agentId") != echoID || start.str("replyToId") != sent.Message.ID {
			t.Fatalf("channel_stream_start = %v", start)
		}
		a := collectChannel(p, replyID, nil)
		end := a.ended
		if string(a.text) != want || end.str("status") != "complete" || end.str("content") != want || end.str("channelId") != w.general {
			t.Fatalf("assembled %q, end %v", a.text, end)
		}
		seq = end.num("seq")
		msg := p.expectWhere("channel_message_new", func(f frame) bool { return f.obj("data").obj("message").str("id") == replyID })
		if m := msg.obj("data").obj("message"); m.str("senderAgentId") != echoID || m.str("content") != want || m.num("seq") != seq {
			t.Fatalf("channel_message_new = %v", msg)
		}
		p.pingPast("channel_stream_end") // exactly once
	}
	if seq != sent.Message.Seq+1 {
		t.Fatalf("the reply was saved at seq %d, want %d", seq, sent.Message.Seq+1)
	}
	if status, got, content := channelReplyRow(t, w.c.db, replyID); status != "complete" || got != seq || content != want {
		t.Fatalf("stored reply: %s seq %d %q", status, got, content)
	}
	page, err := w.c.db.ChannelMessagesPage(ctx, w.bob.ID, w.general, store.PageQuery{Mode: store.PageNewest, Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != replyID {
		t.Fatalf("history's newest = %+v, %v", page.Items, err)
	}

	// Agents that may not answer here got nothing, and no agent socket
	// sees the channel's traffic.
	for _, p := range []*peer{lurker, stranger} {
		p.pingPast("task")
	}
	w.say(t, w.ada, "@lurker-bot bist du da?")
	pa.expect("channel_message_new")
	for _, p := range []*peer{lurker, stranger} {
		p.pingPast("channel_message_new")
	}
	pa.pingPast("channel_stream_start")
	var open int
	if err := w.c.db.Pool.QueryRow(ctx, `select count(*) from channel_replies where channel_id = $1`, w.general).Scan(&open); err != nil || open != 1 {
		t.Fatalf("%d channel replies stored (%v), want 1", open, err)
	}
}

// Two mentions in a row are answered in order, one stream at a time (the
// second reply's task and start come only after the first has ended); the
// agent's status reaches subscribers; a socket that subscribes mid-reply
// gets the text so far with its offset and assembles the whole reply.
func TestChannelRepliesRunInOrderAndResume(t *testing.T) {
	w := newChannelWorld(t, nil)
	echoID, echoToken := w.agent(t, "Echo Bot", true, true)
	echo := dialAgent(t, w.b, echoToken)
	pa := dialClient(t, w.a, w.ada)
	subscribeChannel(t, pa, w.general)

	first := w.say(t, w.ada, "@echo-bot eins")
	second := w.say(t, w.ada, "@Echo-Bot zwei")
	if len(first.Replies) != 1 || len(second.Replies) != 1 {
		t.Fatalf("replies %+v %+v", first.Replies, second.Replies)
	}
	r1, r2 := first.Replies[0].ID, second.Replies[0].ID
	task := echo.expect("task")
	if task.str("taskId") != r1 || task.obj("channel").str("id") != w.general || task.obj("message").str("content") != "@echo-bot eins" {
		t.Fatalf("first task = %v", task)
	}
	echo.pingPast("task") // the second waits for the first
	pa.expectWhere("channel_stream_start", func(f frame) bool { return f.str("messageId") == r1 })

	echo.send(map[string]any{"type": "agent_status", "taskId": r1, "state": "tool", "label": "Suche im Kanal"})
	if f := pa.expect("channel_stream_status"); f.str("messageId") != r1 || f.str("channelId") != w.general ||
		f.str("state") != "tool" || f.str("label") != "Suche im Kanal" {
		t.Fatalf("channel_stream_status = %v", f)
	}
	echo.send(map[string]any{"type": "agent_chunk", "taskId": r1, "content": "Teil eins, "})
	a := &assembler{}
	if err := a.apply(pa.expectWhere("channel_stream_chunk", func(f frame) bool { return f.str("messageId") == r1 })); err != nil {
		t.Fatal(err)
	}

	// Bob subscribes mid-reply on the other instance.
	pb := dialClient(t, w.b, w.bob)
	sub := subscribeChannel(t, pb, w.general)
	st := sub.obj("stream")
	if st.str("messageId") != r1 || st.str("agentId") != echoID || st.str("content") != "Teil eins, " || st.num("offset") != int64(len("Teil eins, ")) ||
		st.obj("status").str("state") != "tool" {
		t.Fatalf("channel_subscribed.stream = %v", st)
	}
	late := &assembler{text: []byte(st.str("content"))}
	echo.send(map[string]any{"type": "agent_chunk", "taskId": r1, "content": "Teil eins, Teil zwei", "mode": "accumulated"})
	echo.send(map[string]any{"type": "agent_complete", "taskId": r1})

	// On Ada's socket nothing of the second reply comes before the first's end.
	deadline := time.Now().Add(wait)
	for a.ended == nil {
		f := pa.next(time.Until(deadline))
		if f == nil {
			t.Fatal("the first reply did not end")
		}
		switch {
		case f.str("messageId") == r2:
			t.Fatalf("the second reply showed before the first ended: %v", f)
		case f.str("messageId") != r1:
		case f.str("type") == "channel_stream_chunk":
			if err := a.apply(f); err != nil {
				t.Fatal(err)
			}
		case f.str("type") == "channel_stream_end":
			a.ended = f
		}
	}
	if got := collectChannel(pb, r1, late); string(got.text) != "Teil eins, Teil zwei" || got.ended.str("content") != "Teil eins, Teil zwei" {
		t.Fatalf("the late subscriber assembled %q (end %v)", got.text, got.ended)
	}
	seq1 := a.ended.num("seq")

	task = echo.expect("task")
	if task.str("taskId") != r2 {
		t.Fatalf("second task = %v", task)
	}
	// The first reply is the newest history the second task sees.
	hist := task["history"].([]any)
	if last := frame(hist[len(hist)-1].(map[string]any)); last.str("content") != "Teil eins, Teil zwei" || last.str("role") != "agent" || last.str("senderName") != "Echo Bot" {
		t.Fatalf("second task's newest history = %v", last)
	}
	pa.expectWhere("channel_stream_start", func(f frame) bool { return f.str("messageId") == r2 })
	echo.send(map[string]any{"type": "agent_complete", "taskId": r2, "content": "Zwei."})
	if end := collectChannel(pa, r2, nil).ended; end.str("status") != "complete" || end.num("seq") <= seq1 {
		t.Fatalf("second end = %v (first seq %d)", end, seq1)
	}
}

// SIGKILL of the instance driving a channel reply (the one holding the
// agent's socket): once the reply's mark expires, the survivor's sweeper
// ends it in error interrupted with the text so far, saved, exactly once.
func TestChannelReplyEndsOnceWhenItsInstanceDies(t *testing.T) {
	w := newChannelWorld(t, map[string]string{"RELAY_ACTIVE_TTL": "3s"})
	_, echoToken := w.agent(t, "Echo Bot", true, true)
	echo := dialAgent(t, w.b, echoToken)
	pa := dialClient(t, w.a, w.ada)
	subscribeChannel(t, pa, w.general)
	sent := w.say(t, w.ada, "@echo-bot erzähl was")
	id := sent.Replies[0].ID
	echo.expect("task")
	echo.send(map[string]any{"type": "agent_chunk", "taskId": id, "content": "vor dem Absturz"})
	pa.expectWhere("channel_stream_chunk", func(f frame) bool { return f.str("messageId") == id })
	w.b.kill(t)

	end := pa.expectWhereWithin("channel_stream_end", 30*time.Second, func(f frame) bool { return f.str("messageId") == id })
	if end.str("status") != "error" || end.obj("error").str("code") != "interrupted" || end.str("content") != "vor dem Absturz" || end.num("seq") == 0 {
		t.Fatalf("channel_stream_end = %v", end)
	}
	pa.expectWhere("channel_message_new", func(f frame) bool { return f.obj("data").obj("message").str("id") == id })
	if status, seq, content := channelReplyRow(t, w.c.db, id); status != "error" || seq != end.num("seq") || content != "vor dem Absturz" {
		t.Fatalf("stored: %s %d %q", status, seq, content)
	}
	// Exactly once: later sweeps find nothing open.
	for range 3 {
		pa.pingPast("channel_stream_end")
	}
}

// A subscriber banned mid-reply stops getting its frames at once (the ban's
// notice travels on the channel's topic, ordered with the chunks); the
// others get the rest.
func TestChannelReplyBanMidStreamStopsDelivery(t *testing.T) {
	w := newChannelWorld(t, nil)
	_, echoToken := w.agent(t, "Echo Bot", true, true)
	echo := dialAgent(t, w.a, echoToken)
	pa, pb := dialClient(t, w.a, w.ada), dialClient(t, w.b, w.bob)
	subscribeChannel(t, pa, w.general)
	subscribeChannel(t, pb, w.general)
	id := w.say(t, w.bob, "@echo-bot hallo").Replies[0].ID
	echo.expect("task")
	echo.send(map[string]any{"type": "agent_chunk", "taskId": id, "content": "eins "})
	got := &assembler{}
	for _, p := range []*peer{pa, pb} {
		if err := got.apply(p.expectWhere("channel_stream_chunk", func(f frame) bool { return f.str("messageId") == id })); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	if _, err := w.c.db.BanMember(ctx, w.ada.ID, w.comm, w.bob.ID, "spam"); err != nil {
		t.Fatal(err)
	}
	removed, err := events.NewForChannel(events.ChannelMemberRemoved, w.general, map[string]string{"userId": w.bob.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.pub.ToChannel(ctx, removed); err != nil {
		t.Fatal(err)
	}
	echo.send(map[string]any{"type": "agent_chunk", "taskId": id, "content": "zwei"})
	echo.send(map[string]any{"type": "agent_complete", "taskId": id})
	if a := collectChannel(pa, id, got); string(a.text) != "eins zwei" || a.ended.str("content") != "eins zwei" {
		t.Fatalf("assembled %q, end %v", a.text, a.ended)
	}
	if f := pb.expect("channel_unsubscribed"); f.str("reason") != "removed" {
		t.Fatalf("channel_unsubscribed = %v", f)
	}
	pb.pingPast("channel_stream_chunk")
	pb.pingPast("channel_stream_end")
}

// An agent's reply that @mentions another agent of the channel gives it a
// task (hop 1, chain fields as in conversations); two agents that always
// mention each other stop at the same budget (4 hops), and subscribers get
// channel_chain_limit naming the last reply.
func TestChannelAgentChainStopsAtTheBudget(t *testing.T) {
	w := newChannelWorld(t, nil)
	pingID, pingToken := w.agent(t, "Ping Bot", true, true)
	pongID, pongToken := w.agent(t, "Pong Bot", true, true)
	ping, pong := dialAgent(t, w.a, pingToken), dialAgent(t, w.b, pongToken)
	pa := dialClient(t, w.a, w.ada)
	subscribeChannel(t, pa, w.general)
	root := w.say(t, w.ada, "@ping-bot fang an").Message.ID

	agents, ids, handles := []*peer{ping, pong}, []string{pingID, pongID}, []string{"ping-bot", "pong-bot"}
	var last string
	for hop := 0; hop <= 4; hop++ {
		me := hop % 2
		task := agents[me].expect("task")
		id := task.str("taskId")
		chain := task.obj("chain")
		if hop == 0 && (chain != nil || task.obj("message").str("id") != root) {
			t.Fatalf("first task = %v", task)
		}
		if hop > 0 && (chain.num("hop") != int64(hop) || chain.str("rootMessageId") != root || chain.num("maxHops") != 4 ||
			chain.obj("mentionedBy").str("id") != ids[1-me] || task.obj("message").str("id") != last) {
			t.Fatalf("hop %d task = %v", hop, task)
		}
		start := pa.expectWhere("channel_stream_start", func(f frame) bool { return f.str("messageId") == id })
		if start.num("chainHop") != int64(hop) || (hop > 0 && start.str("chainRootId") != root) {
			t.Fatalf("hop %d start = %v", hop, start)
		}
		agents[me].send(map[string]any{"type": "agent_complete", "taskId": id, "content": "@" + handles[1-me] + " du bist dran"})
		collectChannel(pa, id, nil)
		last = id
	}
	if f := pa.expect("channel_chain_limit"); f.str("messageId") != last || f.num("hops") != 4 || f.str("channelId") != w.general {
		t.Fatalf("channel_chain_limit = %v", f)
	}
	ping.pingPast("task")
	pong.pingPast("task")
	var n int
	if err := w.c.db.Pool.QueryRow(context.Background(), `select count(*) from channel_replies where channel_id = $1`, w.general).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d replies (%v), want 5", n, err)
	}
}

// A mention sent over the socket (channel_send, not REST) starts the agent's
// reply the same way: the relay queues it as the REST route does, and the
// subscriber on the other instance sees it stream and end.
func TestChannelSendOverSocketMentionStartsTheReply(t *testing.T) {
	w := newChannelWorld(t, nil)
	echoID, echoToken := w.agent(t, "Echo Bot", true, true)
	agent := dialAgent(t, w.b, echoToken)
	pa, pb := dialClient(t, w.a, w.ada), dialClient(t, w.b, w.bob)
	subscribeChannel(t, pa, w.general)
	subscribeChannel(t, pb, w.general)

	pb.send(map[string]any{"type": "channel_send", "channelId": w.general, "content": "@echo-bot über den Socket", "clientMessageId": "sock-1"})
	ack := pb.expect("channel_message_ack")
	msgID := ack.obj("message").str("id")
	task := agent.expect("task")
	replyID := task.str("taskId")
	if task.obj("channel").str("id") != w.general || task.obj("message").str("id") != msgID {
		t.Fatalf("task = %v, want a channel task answering %s", task, msgID)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": replyID, "content": "angekommen", "mode": "delta"})
	agent.send(map[string]any{"type": "agent_complete", "taskId": replyID})
	start := pa.expectWhere("channel_stream_start", func(f frame) bool { return f.str("messageId") == replyID })
	if start.str("agentId") != echoID || start.str("replyToId") != msgID {
		t.Fatalf("channel_stream_start = %v", start)
	}
	if a := collectChannel(pa, replyID, nil); string(a.text) != "angekommen" || a.ended.str("status") != "complete" {
		t.Fatalf("assembled %q, end %v", a.text, a.ended)
	}
	// A retry of the same send starts nothing more.
	pb.send(map[string]any{"type": "channel_send", "channelId": w.general, "content": "@echo-bot über den Socket", "clientMessageId": "sock-1"})
	if again := pb.expect("channel_message_ack"); again.obj("message").str("id") != msgID {
		t.Fatalf("retry ack = %v", again)
	}
	agent.pingPast("task")
}
