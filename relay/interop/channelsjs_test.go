package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Community channels through the browser client library in Node (`ws`,
// bearer tokens) on two relay processes: two members subscribe on
// different instances and an outsider is refused; a channel_send that
// @mentions the channel's agent starts its reply, which both members
// assemble by offset; the instance of one member is SIGKILLed mid-reply:
// that member subscribes again on the other instance, resumes from
// channel_subscribed.stream with exactly the agent's text, and a message it
// sent while away is stored once.
func TestJSClientChannels(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	ctx := context.Background()
	ada := testenv.NewUser(t, c.DB, "Ada")
	bob := testenv.NewUser(t, c.DB, "Bob")
	carol := testenv.NewUser(t, c.DB, "Carol")
	comm, err := c.DB.CreateCommunity(ctx, ada.ID, store.NewCommunity{Name: "Zählwerk", Slug: "zaehlwerk-" + strings.ToLower(ada.ID[:8]), Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.JoinCommunity(ctx, bob.ID, comm.ID); err != nil {
		t.Fatal(err)
	}
	channels, err := c.DB.Channels(ctx, ada.ID, comm.ID)
	if err != nil || len(channels) == 0 {
		t.Fatalf("channels: %v %v", channels, err)
	}
	channel := channels[0].ID
	agentID, token := c.seedAgent(t, ada.ID, "Counter", "counter")
	if _, err := c.DB.AddCommunityAgent(ctx, ada.ID, comm.ID, agentID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.AddChannelAgent(ctx, ada.ID, channel, agentID); err != nil {
		t.Fatal(err)
	}

	const chunks = 90
	var want strings.Builder
	for i := range chunks {
		fmt.Fprintf(&want, "Stück %d — ✓ 東京 ", i)
	}
	halfway := make(chan struct{})
	resume := make(chan struct{})
	tasks := make(chan *agentsdk.Task, 4)
	goAgent(t, a.AgentURL(), token, func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
		tasks <- task
		for i := range chunks {
			if i == chunks/3 {
				close(halfway)
				select {
				case <-resume:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			if err := s.Write(fmt.Sprintf("Stück %d — ✓ 東京 ", i)); err != nil {
				return err
			}
		}
		return s.Complete()
	})

	urls, _ := json.Marshal([]string{a.ClientURL(), b.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=channels", "URLS="+string(urls), "TOKEN="+ada.Token,
		"TOKEN2="+bob.Token, "TOKEN3="+carol.Token, "CHANNEL_ID="+channel, "MESSAGE=@Counter zähl bis 90, bitte")
	if o := p.event(t, "outsider", 20*time.Second); o["code"] != "forbidden" {
		t.Fatalf("the outsider's channel_subscribe: %v", o)
	}
	acked := p.event(t, "acked", 15*time.Second)
	select {
	case task := <-tasks:
		if task.Message.Content != "@Counter zähl bis 90, bitte" {
			t.Fatalf("the agent's task is about %q", task.Message.Content)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the agent got no task for the mention")
	}
	select {
	case <-halfway:
	case <-time.After(15 * time.Second):
		t.Fatal("the agent did not reach a third of its reply")
	}
	p.event(t, "streaming", 15*time.Second)      // Bob has text from the other instance
	if err := b.cmd.Process.Kill(); err != nil { // SIGKILL: no close frame
		t.Fatal(err)
	}
	p.event(t, "state", 15*time.Second) // Bob reconnecting (and sending while away)
	time.Sleep(100 * time.Millisecond)  // the reply goes on while Bob is away
	close(resume)

	r := p.event(t, "reply", 30*time.Second)
	for _, who := range []string{"ada", "bob"} {
		got, _ := r[who].(map[string]any)
		if got["status"] != "complete" || got["content"] != want.String() || got["away"] != false {
			t.Fatalf("%s's reply: %v, %d bytes (want complete, %d bytes)", who, got["status"], len(fmt.Sprint(got["content"])), want.Len())
		}
		if seq, _ := got["seq"].(float64); seq <= acked["seq"].(float64) {
			t.Fatalf("%s's reply saved at seq %v, after the message at %v", who, got["seq"], acked["seq"])
		}
	}
	second := p.event(t, "second", 30*time.Second)
	if second["acked"] == nil {
		t.Fatalf("the message Bob sent while away was not acknowledged: %v", second)
	}
	var n int
	if err := c.DB.Pool.QueryRow(ctx, `select count(*) from channel_messages where channel_id = $1 and client_message_id = 'cm-bob-1'`, channel).Scan(&n); err != nil || n != 1 {
		t.Fatalf("stored Bob's message %d times (%v)", n, err)
	}
	var saved string
	if err := c.DB.Pool.QueryRow(ctx, `select content from channel_messages where channel_id = $1 and sender_agent_id = $2`, channel, agentID).Scan(&saved); err != nil || saved != want.String() {
		t.Fatalf("the saved reply: %d bytes (%v), want %d", len(saved), err, want.Len())
	}
}
