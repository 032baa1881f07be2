package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/a2a"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// The A2A peers are relay/a2a's: real servers built with the official JS SDK.
const a2aServers = "a2a/testdata/servers"

// wantRejection is what users read of the peers' refusal (server.mjs
// REJECTION: control characters, a line break and 3000 more bytes).
var wantRejection = func() string {
	head := "quota exceeded: try again later ✋ "
	return "the agent reported an error: " + head + strings.Repeat("z", a2a.MaxReasonBytes-len(head)-len("…")) + "…"
}()

func startA2APeer(t *testing.T, mode string) string {
	t.Helper()
	npm.Install(t, a2aServers)
	cmd := exec.Command("node", "server.mjs", mode)
	cmd.Dir = a2aServers
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			first <- sc.Text()
		}
		for sc.Scan() {
		}
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		stdin.Close() // the script exits when its stdin closes
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	select {
	case line := <-first:
		var hello struct{ Port int }
		if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.Port == 0 {
			t.Fatalf("peer said %q", line)
		}
		return "http://127.0.0.1:" + strconv.Itoa(hello.Port)
	case <-time.After(30 * time.Second):
		t.Fatal("A2A peer did not start")
	}
	return ""
}

func TestAgentWithoutSocketIsReachedOverA2A(t *testing.T) {
	base := startA2APeer(t, "v03")
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	if _, err := c.db.Pool.Exec(t.Context(), `update agents set a2a_endpoint = $2 where id = $1`, w.agentID, base+"/open"); err != nil {
		t.Fatal(err)
	}
	client := dialClient(t, r, w.users[0])

	client.sendMessage(w.conv, "stream please", "a-1")
	reply := client.expect("stream_start").str("messageId")
	got := client.collect(reply, nil)
	const want = "Grüße, 世界 — naïve café 🙂 done"
	if string(got.text) != want || got.ended.str("status") != "complete" || got.ended.str("content") != want {
		t.Fatalf("assembled %q, end %v", got.text, got.ended)
	}
	if status, content := replyStatus(t, c.db, reply); status != "complete" || content != want {
		t.Fatalf("stored %s %q", status, content)
	}
	// What the agent received (PROTOCOL.md §14): the user's text as one text
	// part, the reply's id as messageId, the conversation as contextId, no
	// earlier turns yet, text output only.
	var call struct {
		Message struct {
			Kind, MessageID, ContextID, TaskID, Role string
			Parts                                    []map[string]any
			Metadata                                 map[string]json.RawMessage
		}
		Configuration struct {
			AcceptedOutputModes []string
			HistoryLength       *int
		}
	}
	if err := json.Unmarshal(peerStats(t, base).LastParams["open"], &call); err != nil {
		t.Fatal(err)
	}
	m := call.Message
	if m.Kind != "message" || m.Role != "user" || m.MessageID != reply || m.ContextID != w.conv || m.TaskID != "" ||
		len(m.Parts) != 1 || m.Parts[0]["kind"] != "text" || m.Parts[0]["text"] != "stream please" || len(m.Metadata) != 0 ||
		!slices.Equal(call.Configuration.AcceptedOutputModes, []string{"text/plain"}) ||
		call.Configuration.HistoryLength == nil || *call.Configuration.HistoryLength != 0 {
		t.Fatalf("the agent received %s", peerStats(t, base).LastParams["open"])
	}

	// Cancel reaches the remote agent as a cancel call.
	client.sendMessage(w.conv, "slow please", "a-2")
	reply = client.expect("stream_start").str("messageId")
	client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
	// The second turn carries the first as history: [{role, name, text}].
	var second struct {
		Message struct {
			Metadata map[string][]map[string]string
		}
	}
	if err := json.Unmarshal(peerStats(t, base).LastParams["open"], &second); err != nil {
		t.Fatal(err)
	}
	if h := second.Message.Metadata["ari.history"]; len(h) != 2 || len(h[0]) != 3 || h[0]["role"] != "user" || h[0]["name"] != "Ada" || h[0]["text"] != "stream please" ||
		h[1]["role"] != "agent" || h[1]["name"] != "Echo Bot" || h[1]["text"] != want {
		t.Fatalf("history sent %v", h)
	}
	client.send(map[string]any{"type": "cancel_stream", "messageId": reply})
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "cancelled" || !strings.HasPrefix(end.str("content"), "partial") {
		t.Fatalf("stream_end = %v", end)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := http.Get(base + "/stats")
		if err != nil {
			t.Fatal(err)
		}
		var stats struct{ Cancels []string }
		_ = json.NewDecoder(resp.Body).Decode(&stats)
		resp.Body.Close()
		if len(stats.Cancels) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the remote task was not cancelled")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// An agent with neither socket nor endpoint: agent_offline at once.
	other := testenv.NewUser(t, c.db, "Bob")
	lone, _ := newAgent(t, c.db, other, "Lone")
	conv := newConversation(t, c.db, "direct", []testenv.TestUser{other}, lone)
	bob := dialClient(t, r, other)
	bob.sendMessage(conv, "hallo?", "a-3")
	reply = bob.expect("stream_start").str("messageId")
	end = bob.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.obj("error").str("code") != "agent_offline" {
		t.Fatalf("stream_end = %v", end)
	}
}

// Issue 8's matrix through the relay, against each real SDK server: SDK 1.3.0
// in its v1.0 mode and its v0.3 compatibility mode, and SDK 0.3.14 as a
// genuine v0.3 server. A user's socket sees the reply chunk by chunk and it is
// saved; the agent's failure ends it in error; cancel ends it cancelled and
// the agent's task is cancelled; a silent agent times out; a wrong auth header
// is reported after exactly one call, not retried.
func TestA2AOutcomesAcrossSDKModes(t *testing.T) {
	// The healthy turns must never meet these (a loaded machine may pause an
	// SDK peer for a second or two); only the silent turn waits them out.
	c := newCluster(t, map[string]string{"RELAY_AGENT_IDLE_TIMEOUT": "6s", "RELAY_AGENT_FIRST_CHUNK_TIMEOUT": "6s"})
	r := c.start()
	for _, mode := range []string{"v1", "compat", "v03"} {
		t.Run(mode, func(t *testing.T) {
			base, agentID, conv, client := a2aConversation(t, c, r, mode, "Remote "+mode)
			turn := func(content, id string) (string, *assembler) {
				client.sendMessage(conv, content, mode+"-"+id)
				reply := client.expect("stream_start").str("messageId")
				return reply, client.collect(reply, nil)
			}

			// Streamed, chunk by chunk, saved.
			reply, got := turn("stream please", "stream")
			const want = "Grüße, 世界 — naïve café 🙂 done"
			if string(got.text) != want || got.chunks < 2 || got.ended.str("status") != "complete" {
				t.Fatalf("stream: %d chunks %q, end %v", got.chunks, got.text, got.ended)
			}
			if status, content := replyStatus(t, c.db, reply); status != "complete" || content != want {
				t.Fatalf("stream stored %s %q", status, content)
			}

			// The agent fails: error, with its reason.
			reply, got = turn("fail now", "fail")
			if got.ended.str("status") != "error" || !strings.Contains(got.ended.obj("error").str("message"), "boom") {
				t.Fatalf("fail: end %v", got.ended)
			}
			if status, _ := replyStatus(t, c.db, reply); status != "error" {
				t.Fatalf("fail stored %s", status)
			}

			// The agent refuses the streaming call (HTTP 200, a JSON-RPC error
			// object): its own words, cleaned and cut, not "could not reach".
			reply, got = turn("reject please", "reject")
			if e := got.ended.obj("error"); got.ended.str("status") != "error" || e.str("code") != "agent_error" || e.str("message") != wantRejection {
				t.Fatalf("reject: end %v", got.ended)
			}
			if status, _ := replyStatus(t, c.db, reply); status != "error" {
				t.Fatalf("reject stored %s", status)
			}

			// Cancel: cancelled here, and the remote task is cancelled.
			cancelsBefore := len(peerStats(t, base).Cancels)
			client.sendMessage(conv, "slow please", mode+"-slow")
			reply = client.expect("stream_start").str("messageId")
			client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
			client.send(map[string]any{"type": "cancel_stream", "messageId": reply})
			end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
			if end.str("status") != "cancelled" {
				t.Fatalf("cancel: end %v", end)
			}
			waitFor(t, 5*time.Second, "the remote task to be cancelled", func() bool {
				return len(peerStats(t, base).Cancels) > cancelsBefore
			})

			// Silent agent: the idle timeout ends the reply in error.
			reply, got = turn("silent please", "silent")
			if got.ended.str("status") != "error" || got.ended.obj("error").str("code") != "agent_timeout" {
				t.Fatalf("silent: end %v", got.ended)
			}

			// Wrong auth header: an error after one call, no retries.
			if _, err := c.db.Pool.Exec(t.Context(), `update agents set a2a_endpoint = $2, a2a_auth_header = 'X-Api-Key: wrong' where id = $1`,
				agentID, base+"/secure"); err != nil {
				t.Fatal(err)
			}
			before := peerStats(t, base)
			_, got = turn("stream please", "unauthorized")
			if got.ended.str("status") != "error" {
				t.Fatalf("unauthorized: end %v", got.ended)
			}
			time.Sleep(500 * time.Millisecond) // room for a retry, were there one
			after := peerStats(t, base)
			if after.Unauthorized-before.Unauthorized != 1 || after.RPC["secure"]-before.RPC["secure"] != 1 {
				t.Fatalf("unauthorized calls %d, rpc calls %d: want exactly one each",
					after.Unauthorized-before.Unauthorized, after.RPC["secure"]-before.RPC["secure"])
			}
		})
	}
}

// a2aConversation starts an A2A peer in mode and gives a new user a direct
// conversation with a socketless agent reached at the peer's /open agent.
func a2aConversation(t *testing.T, c *cluster, r *relayProc, mode, agentName string) (base, agentID, conv string, client *peer) {
	t.Helper()
	base, agentID, conv, u := a2aConversationOf(t, c, mode, agentName)
	return base, agentID, conv, dialClient(t, r, u)
}

// a2aConversationOf is a2aConversation without the socket: it returns the
// user instead.
func a2aConversationOf(t *testing.T, c *cluster, mode, agentName string) (base, agentID, conv string, u testenv.TestUser) {
	t.Helper()
	base = startA2APeer(t, mode)
	u = testenv.NewUser(t, c.db, "Ada")
	agentID, _ = newAgent(t, c.db, u, agentName)
	if _, err := c.db.Pool.Exec(t.Context(), `update agents set a2a_endpoint = $2 where id = $1`, agentID, base+"/open"); err != nil {
		t.Fatal(err)
	}
	conv = newConversation(t, c.db, "direct", []testenv.TestUser{u}, agentID)
	return base, agentID, conv, u
}

type a2aPeerStats struct {
	RPC          map[string]int
	Cancels      []string
	Unauthorized int
	LastParams   map[string]json.RawMessage
	Methods      []struct{ Prefix, Method string }
}

func peerStats(t *testing.T, base string) a2aPeerStats {
	t.Helper()
	resp, err := http.Get(base + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s a2aPeerStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// With private networks not allowed (the production default), an agent whose
// A2A endpoint points into the relay's own network is never called: the
// reply ends in error and the server behind that address sees no request.
func TestA2AEndpointOnPrivateNetworkIsRefused(t *testing.T) {
	base := startA2APeer(t, "v03")
	c := newCluster(t, map[string]string{"A2A_ALLOW_PRIVATE_NETWORKS": "false"})
	r := c.start()
	w := newWorld(t, c)
	if _, err := c.db.Pool.Exec(t.Context(), `update agents set a2a_endpoint = $2 where id = $1`, w.agentID, base+"/open"); err != nil {
		t.Fatal(err)
	}
	client := dialClient(t, r, w.users[0])
	client.sendMessage(w.conv, "stream please", "guard-1")
	reply := client.expect("stream_start").str("messageId")
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == reply })
	if end.str("status") != "error" {
		t.Fatalf("stream_end = %v", end)
	}
	if s := peerStats(t, base); s.RPC["open"] != 0 {
		t.Fatalf("the private address was called %d times", s.RPC["open"])
	}
}

// Issue 20: an A2A agent's silence is judged by the same settings as a socket
// agent's and ends the same way, agent_timeout, whatever the A2A client or its
// transport would wait. Each SDK mode: an agent that accepts the call and never
// answers (SDK 1.3 then sends not even response headers) ends after the
// first-chunk timeout; one that sends a little text and goes silent ends after
// the idle timeout with its text kept, and its task is cancelled with the
// dialect's cancel call. The two timeouts differ, so the message shows which
// one applied.
func TestA2ASilenceUsesTheAgentTimeouts(t *testing.T) {
	// The slow agent's first text must beat the first-chunk timeout on a
	// loaded machine; the two differ so the message shows which one applied.
	c := newCluster(t, map[string]string{"RELAY_AGENT_FIRST_CHUNK_TIMEOUT": "6s", "RELAY_AGENT_IDLE_TIMEOUT": "2s"})
	r := c.start()
	for _, mode := range []string{"v1", "compat", "v03"} {
		t.Run(mode, func(t *testing.T) {
			base, _, conv, client := a2aConversation(t, c, r, mode, "Quiet "+mode)

			// Accepts the call, never answers: the first-chunk timeout.
			start := time.Now()
			client.sendMessage(conv, "mute please", mode+"-mute")
			reply := client.expect("stream_start").str("messageId")
			got := client.collect(reply, nil)
			t.Logf("%s: a mute agent's reply ended after %v (first-chunk timeout 6s, sweep 200ms)", mode, time.Since(start).Round(10*time.Millisecond))
			if e := got.ended.obj("error"); got.ended.str("status") != "error" || e.str("code") != "agent_timeout" ||
				e.str("message") != "the agent did not start answering within 6s" || len(got.text) != 0 {
				t.Fatalf("mute: end %v, text %q", got.ended, got.text)
			}
			if status, content := replyStatus(t, c.db, reply); status != "error" || content != "" {
				t.Fatalf("mute stored %s %q", status, content)
			}
			if n := peerStats(t, base).RPC["open"]; n != 1 {
				t.Fatalf("the agent saw %d calls, want 1", n)
			}

			// A little text, then silence: the idle timeout, text kept, task cancelled.
			start = time.Now()
			client.sendMessage(conv, "slow please", mode+"-slow")
			reply = client.expect("stream_start").str("messageId")
			got = client.collect(reply, nil)
			t.Logf("%s: a silent agent's reply ended %v after its send (idle timeout 2s)", mode, time.Since(start).Round(10*time.Millisecond))
			if e := got.ended.obj("error"); got.ended.str("status") != "error" || e.str("code") != "agent_timeout" ||
				e.str("message") != "the agent sent nothing for 2s" || string(got.text) != "partial " || got.ended.str("content") != "partial " {
				t.Fatalf("slow: end %v, text %q", got.ended, got.text)
			}
			if status, content := replyStatus(t, c.db, reply); status != "error" || content != "partial " {
				t.Fatalf("slow stored %s %q", status, content)
			}
			waitFor(t, 5*time.Second, "the silent agent's task to be cancelled", func() bool {
				return len(peerStats(t, base).Cancels) == 1
			})
		})
	}
}
