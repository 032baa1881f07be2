package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/agentsdk"
	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The example agent of `make local`, run as its own process, answers through
// the real relay in both of its modes.
func TestEchoAgentAnswersThroughRelay(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	bin := binary(t, "local/echoagent")
	for _, mode := range []string{"delta", "accumulated"} {
		agentID, token := c.seedAgent(t, user.ID, "Echo "+mode, "echo-"+mode)
		conv := c.seedConversation(t, user.ID, agentID)
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL(),
			"ECHO_MODE="+mode, "ECHO_DELAY=1ms")
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
		select {
		case <-connected:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			_ = cmd.Wait()
			t.Fatalf("%s: echoagent did not connect", mode)
		}
		cl := dialClient(t, relay.ClientURL(), user.Token)
		msg := "Wie spät ist es in 東京?  Sag 🙂\nbitte"
		r := cl.ask(conv, msg, 20*time.Second)
		want := "You said: " + msg
		if r.End.Status != protocol.StatusComplete || r.Assembled != want || r.End.Content != want {
			t.Fatalf("%s: ended %s with %q, assembled %q", mode, r.End.Status, r.End.Content, r.Assembled)
		}
		// One chunk per word ("You ", "said: ", "Wie ", …, "🙂\n", "bitte"): at
		// most 11 stream_chunks, fewer if the relay merges chunks under load.
		if r.Chunks < 1 || r.Chunks > 11 {
			t.Fatalf("%s: %d chunks, want 1 to 11", mode, r.Chunks)
		}
		if status, content := c.savedReply(t, r.MessageID); status != "complete" || content != want {
			t.Fatalf("%s: saved %s %q", mode, status, content)
		}
		// It says what it does before the first word (SDK SendStatus).
		if len(r.Statuses) != 1 || r.Statuses[0].State != protocol.StateWriting || r.Statuses[0].Label == "" ||
			r.Statuses[0].ConversationID != conv || r.StatusesAfter[0] != 0 {
			t.Fatalf("%s: stream_status %+v after %v chunks", mode, r.Statuses, r.StatusesAfter)
		}
		if mode == "delta" {
			echoLater(t, cl, conv, agentID)
		}
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done // the pipe ends with the killed process
			_ = cmd.Wait()
			t.Fatalf("%s: echoagent did not exit within 15s of SIGINT", mode)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%s: echoagent exit: %v", mode, err)
		}
	}
}

// The agent's socket is cut mid-reply; the SDK reconnects and finishes the
// task it was given on the old socket, and the client gets exactly the text.
func TestSDKFinishesTaskAcrossReconnect(t *testing.T) {
	c := newCluster(t)
	relay := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Steady", "steady")
	conv := c.seedConversation(t, user.ID, agentID)
	proxy := newCutProxy(t, "127.0.0.1:"+strconv.Itoa(relay.Port))

	const chunks = 200
	var want strings.Builder
	for i := range chunks {
		fmt.Fprintf(&want, "Stück %d — ✓ ", i)
	}
	halfway := make(chan struct{})
	resume := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	agent, err := agentsdk.Connect(ctx, agentsdk.Config{
		URL: wsURL(proxy.Addr(), protocol.AgentPath), Token: token,
		Backoff: agentsdk.Backoff{Initial: 20 * time.Millisecond, Max: 100 * time.Millisecond},
		Handler: func(ctx context.Context, task *agentsdk.Task, s *agentsdk.Stream) error {
			for i := range chunks {
				if i == chunks/2 {
					close(halfway)
					select {
					case <-resume:
					case <-ctx.Done():
						return ctx.Err()
					}
				}
				if err := s.Write(fmt.Sprintf("Stück %d — ✓ ", i)); err != nil {
					return err
				}
			}
			return nil
		},
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-agent.Done():
		case <-time.After(15 * time.Second):
			t.Error("agent did not stop within 15s")
			return
		}
		if err := agent.Wait(); err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	if agent.Info().ID != agentID {
		t.Fatalf("auth_ok agent = %+v", agent.Info())
	}
	cl := dialClient(t, relay.ClientURL(), user.Token)
	go func() { // the conductor: cut the agent's socket halfway, then let it go on
		select {
		case <-halfway:
		case <-ctx.Done():
			return
		}
		time.Sleep(50 * time.Millisecond) // let the first half reach the relay
		proxy.cut()
		time.Sleep(200 * time.Millisecond) // several backoff periods: reconnects happen meanwhile
		close(resume)
	}()
	r := cl.ask(conv, "count to 200", 30*time.Second)
	if r.End.Status != protocol.StatusComplete {
		t.Fatalf("ended %s (%+v)", r.End.Status, r.End.Error)
	}
	if r.Assembled != want.String() || r.End.Content != want.String() {
		t.Fatalf("client assembled %d bytes, end content %d bytes, agent sent %d", len(r.Assembled), len(r.End.Content), want.Len())
	}
	if status, content := c.savedReply(t, r.MessageID); status != "complete" || content != want.String() {
		t.Fatalf("saved %s with %d bytes", status, len(content))
	}
}

// echoLater: "/later <text>" is answered at once, and the text comes back a
// few seconds later as a message the agent starts (SDK Post, agent_message),
// which reaches the client as message_new.
func echoLater(t *testing.T, cl *goClient, conv, agentID string) {
	t.Helper()
	r := cl.ask(conv, "/later Regenschirm nicht vergessen", 20*time.Second)
	if r.End.Status != protocol.StatusComplete || !strings.HasPrefix(r.End.Content, "I will post it") {
		t.Fatalf("/later: ended %s with %q", r.End.Status, r.End.Content)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		ev, ok := cl.recv(time.Until(deadline)).(*protocol.Event)
		if !ok || ev.Type != protocol.TypeMessageNew {
			continue
		}
		var d protocol.MessageNewData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		m := d.Message
		if m.Role != "agent" || m.SenderAgentID == nil || *m.SenderAgentID != agentID || m.Content != "⏰ Regenschirm nicht vergessen" ||
			m.ClientMessageID == nil || *m.ClientMessageID != "later-"+r.MessageID || m.ReplyToID != nil {
			t.Fatalf("the agent's message = %+v", m)
		}
		return
	}
	t.Fatal("no message_new of the agent's post within 20 s")
}
