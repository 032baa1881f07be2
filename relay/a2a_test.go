package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// The A2A peers are relay/a2a's: real servers built with the official JS SDK.
const a2aServers = "a2a/testdata/servers"

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

	// Cancel reaches the remote agent as a cancel call.
	client.sendMessage(w.conv, "slow please", "a-2")
	reply = client.expect("stream_start").str("messageId")
	client.expectWhere("stream_chunk", func(f frame) bool { return f.str("messageId") == reply })
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
