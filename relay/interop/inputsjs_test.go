package interop

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// Questions and approvals end to end in JavaScript (relay/PROTOCOL.md section
// 9): the TypeScript SDK's agent (drive.ts "ask") on one relay instance asks,
// the client library (drive.ts "inputs") on the other sees each
// input_request, answers it, and the agent gets the answer once and ends its
// reply with it. The client's instance is then SIGKILLed while a request is
// open: the reconnected client finds it in sync_result and answers it there.
func TestTSAgentAsksJSClientAnswers(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Planer", "planer")
	conv := c.seedConversation(t, user.ID, agentID)
	agent := startTS(t, "dist/drive/drive.js", "SCENARIO=ask", "ARI_RELAY_URL="+a.AgentURL(), "ARI_AGENT_TOKEN="+token)
	agent.event(t, "ready", 30*time.Second)
	urls, _ := json.Marshal([]string{b.ClientURL(), a.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=inputs", "URLS="+string(urls), "TOKEN="+user.Token, "CONVERSATION_ID="+conv)

	q := p.event(t, "question", 30*time.Second)
	req, _ := q["request"].(map[string]any)
	if req["kind"] != "question" || req["prompt"] != "Welche Uhrzeit?" || fmt.Sprint(req["options"]) != "[18:00 19:30 21:00]" ||
		req["conversationId"] != conv || req["expiresAt"] == nil || q["sent"] != true {
		t.Fatalf("the client's question: %v", q)
	}
	if res, _ := q["resolved"].(map[string]any); q["closed"] != "answered" || res["answer"] != "19:30" || res["answeredBy"] != user.ID {
		t.Fatalf("the question closed as %v: %v", q["closed"], q["resolved"])
	}
	if q["status"] != "complete" || q["content"] != "Moment … um 19:30." || q["open"] != float64(0) {
		t.Fatalf("the question's reply: %v", q)
	}
	got := agent.event(t, "answered", 15*time.Second)
	if got["kind"] != "question" || got["requestId"] != req["requestId"] || got["text"] != "19:30" || got["userId"] != user.ID {
		t.Fatalf("the agent's answer: %v", got)
	}

	ap := p.event(t, "approval", 30*time.Second)
	if ar, _ := ap["request"].(map[string]any); ar["kind"] != "approval" || ar["options"] != nil || ap["closed"] != "answered" ||
		ap["content"] != "Moment … gebucht." || ap["status"] != "complete" {
		t.Fatalf("the approval: %v", ap)
	}
	got = agent.event(t, "answered", 15*time.Second)
	if got["kind"] != "approval" || got["approved"] != true || got["text"] != "gern" {
		t.Fatalf("the agent's approval: %v", got)
	}

	open := p.event(t, "open", 30*time.Second)
	id := fmt.Sprint(open["requestId"])
	if err := b.cmd.Process.Kill(); err != nil { // the client's instance; the agent's lives on
		t.Fatal(err)
	}
	rs := p.event(t, "resynced", 30*time.Second)
	if !slices.Contains(anyStrings(rs["listed"]), id) || !slices.Equal(anyStrings(rs["held"]), []string{id}) {
		t.Fatalf("after the reconnect: sync listed %v, the client holds %v; want %s", rs["listed"], rs["held"], id)
	}
	last := p.event(t, "answered-after-reconnect", 30*time.Second)
	if last["sent"] != true || last["closed"] != "answered" || last["content"] != "Moment … nicht gebucht." || last["status"] != "complete" {
		t.Fatalf("the request answered after the reconnect: %v", last)
	}
	got = agent.event(t, "answered", 15*time.Second)
	if got["requestId"] != id || got["approved"] != false {
		t.Fatalf("the agent's last answer: %v", got)
	}
	// Each answer reached the agent once: every request has one row,
	// answered and recorded as handed over (the record follows the write to
	// the agent's socket, so it may come a moment after the reply's end).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) { // polling a state
		var answered, delivered int
		if err := c.DB.Pool.QueryRow(t.Context(),
			`select count(*) filter (where state = 'answered'), count(*) filter (where delivered_at is not null) from input_requests where conversation_id = $1`,
			conv).Scan(&answered, &delivered); err != nil {
			t.Fatal(err)
		}
		if answered == 3 && delivered == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("input_requests: %d answered, %d delivered, want 3 and 3", answered, delivered)
		}
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("client scenario exited %d", code)
	}
}

// A request nobody answers expires (INPUT_REQUEST_TTL=1s): the client sees
// it open and then closed as expired; the TypeScript example agent's "/ask"
// gets its input_timeout and says so; the reply completes.
func TestTSEchoAgentAskTimesOut(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	relay := c.startRelay(t, "INPUT_REQUEST_TTL=1s")
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "TS Echo", "ts-echo")
	conv := c.seedConversation(t, user.ID, agentID)
	agent := startTS(t, "dist/examples/echo.js", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+relay.AgentURL(), "ECHO_DELAY=1ms")
	agent.waitLog(t, "agent-sdk: connected", 30*time.Second)
	urls, _ := json.Marshal([]string{relay.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=expire", "URLS="+string(urls), "TOKEN="+user.Token,
		"CONVERSATION_ID="+conv, "MESSAGE=/ask hallo Welt")
	in := p.event(t, "input", 30*time.Second)
	if req, _ := in["request"].(map[string]any); req["kind"] != "approval" || req["prompt"] != `May I echo "hallo Welt"?` {
		t.Fatalf("the echo agent's request: %v", in)
	}
	ex := p.event(t, "expired", 30*time.Second)
	if res, _ := ex["resolved"].(map[string]any); ex["closed"] != "expired" || res["state"] != "expired" || res["answeredBy"] != nil || ex["open"] != float64(0) {
		t.Fatalf("the request closed as %v: %v", ex["closed"], ex)
	}
	if want := "Let me check with you first. Nobody answered, so I keep it to myself."; ex["content"] != want || ex["status"] != "complete" {
		t.Fatalf("the reply after the timeout: %v", ex)
	}
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, s := range l {
		out = append(out, fmt.Sprint(s))
	}
	return out
}
