package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The example agent of `make local`, run twice as its own processes (Echo
// and Parrot, as the demo group has them), shows agents that address
// agents: "@echo /rally parrot" makes them mention each other until the
// conversation's chain budget (4 hops) stops them; every reply's
// stream_start says its hop, the last reply says it was the last hop, and
// chain_limit follows.
func TestEchoAgentsRallyUntilTheChainBudget(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	bin := binary(t, "local/echoagent")
	echoID, echoToken := c.seedAgent(t, user.ID, "Echo", "echo")
	parrotID, parrotToken := c.seedAgent(t, user.ID, "Parrot", "parrot")
	conv := c.seedConversation(t, user.ID, echoID)
	ctx := context.Background()
	if _, err := c.DB.Pool.Exec(ctx, `update conversations set kind = 'group' where id = $1`, conv); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.Pool.Exec(ctx, `insert into conversation_members(conversation_id, agent_id) values ($1,$2)`, conv, parrotID); err != nil {
		t.Fatal(err)
	}
	for _, token := range []string{echoToken, parrotToken} {
		startEchoAgent(t, bin, token, relay.AgentURL())
	}
	cl := dialClient(t, relay.ClientURL(), user.Token)
	cl.send(&protocol.SendMessage{ConversationID: conv, Content: "@echo /rally parrot", ClientMessageID: "rally-1"})

	var root string
	var starts []*protocol.StreamStart
	ends := map[string]*protocol.StreamEnd{}
	var limit protocol.ChainLimitData
	deadline := time.Now().Add(60 * time.Second)
	for limit.MessageID == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no chain_limit within 60s; starts %d, ends %d", len(starts), len(ends))
		}
		switch f := cl.recv(30 * time.Second).(type) {
		case *protocol.MessageAck:
			root = f.Message.ID
		case *protocol.StreamStart:
			starts = append(starts, f)
		case *protocol.StreamEnd:
			ends[f.MessageID] = f
		case *protocol.Event:
			if f.Type == protocol.TypeChainLimit {
				if err := json.Unmarshal(f.Data, &limit); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if len(starts) != 5 || limit.Hops != 4 || limit.MessageID != starts[4].MessageID {
		t.Fatalf("%d replies, chain_limit %+v", len(starts), limit)
	}
	agents := []string{echoID, parrotID}
	for hop, s := range starts {
		if s.AgentID != agents[hop%2] || s.ChainHop != hop || (hop > 0 && s.ChainRootID != root) || (hop == 0 && s.ChainRootID != "") {
			t.Fatalf("reply %d stream_start = %+v", hop, s)
		}
	}
	// The reply to the chain_limit's message ended before the event; the
	// others too (the queue serialises them).
	for hop, s := range starts {
		e := ends[s.MessageID]
		for e == nil {
			if f, ok := cl.recv(30 * time.Second).(*protocol.StreamEnd); ok {
				ends[f.MessageID] = f
				e = ends[s.MessageID]
			}
		}
		if e.Status != protocol.StatusComplete || !strings.Contains(e.Content, "/rally") {
			t.Fatalf("reply %d ended %s %q", hop, e.Status, e.Content)
		}
		t.Logf("hop %d (%s): %s", hop, map[string]string{echoID: "Echo", parrotID: "Parrot"}[s.AgentID], e.Content)
	}
	if last := ends[starts[4].MessageID].Content; !strings.HasPrefix(last, "@parrot /rally") || !strings.Contains(last, "last hop") {
		t.Fatalf("the last reply = %q", last)
	}
}

// startEchoAgent runs local/echoagent with token until the test ends and
// waits until it has connected.
func startEchoAgent(t *testing.T, bin, token, url string) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+url, "ECHO_DELAY=1ms")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	done := make(chan struct{})
	go func() { // reads the agent's log until it exits; waited for below
		defer close(done)
		sc := bufio.NewScanner(stderr)
		seen := false
		for sc.Scan() {
			if !seen && strings.Contains(sc.Text(), "agentsdk: connected") {
				seen = true
				close(connected)
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		_ = cmd.Wait()
	})
	select {
	case <-connected:
	case <-time.After(15 * time.Second):
		t.Fatal("echoagent did not connect")
	}
}
