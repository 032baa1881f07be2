package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/appbridge"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// Tool calls end to end in JavaScript (relay/PROTOCOL.md section 15): the
// TypeScript example agent's "/note" calls the sample notes app's add_note
// (task.tools, a typed tool) on one relay instance; the client library on
// the other holds the app_action as the app runner. The agent's socket is
// cut while the call waits (the SDK sends the call again under its callId,
// the relay sends the app_action again), then the client's instance is
// SIGKILLed (its sync on the other instance sends it a third time): the app
// is handed the call once. Its one answer reaches the agent once, whose
// reply says what the app answered.
func TestTSAgentToolCallJSClientAnswers(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "TS Echo", "ts-echo")
	conv := c.seedConversation(t, user.ID, agentID)
	slug := "notes-" + testenv.RandomID(4)
	session := c.seedNotesSession(t, user.ID, conv, agentID, slug)

	proxy := newCutProxy(t, "127.0.0.1:"+strconv.Itoa(a.Port))
	agent := startTS(t, "dist/examples/echo.js", "ARI_AGENT_TOKEN="+token, "ARI_RELAY_URL="+wsURL(proxy.Addr(), protocol.AgentPath), "ECHO_DELAY=1ms")
	agent.waitLog(t, "agent-sdk: connected", 30*time.Second)
	urls, _ := json.Marshal([]string{b.ClientURL(), a.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=apps", "URLS="+string(urls), "TOKEN="+user.Token,
		"CONVERSATION_ID="+conv, "MESSAGE=/note Milch kaufen")

	m := p.event(t, "action", 30*time.Second)
	act, _ := m["action"].(map[string]any)
	args, _ := act["arguments"].(map[string]any)
	s, _ := m["session"].(map[string]any)
	callID := fmt.Sprint(act["callId"])
	if act["sessionId"] != session || act["action"] != "add_note" || args["text"] != "Milch kaufen" || len(callID) < 6 ||
		fmt.Sprint(m["pending"]) != "["+callID+"]" || s["mode"] != "shared" || s["appSlug"] != slug {
		t.Fatalf("the app's action: %v", m)
	}
	proxy.cut() // the agent's socket: the SDK sends the call again on its next one
	_, _ = fmt.Fprintln(p.stdin, "count 2")
	if r := p.event(t, "raw", 30*time.Second); r["raw"] != float64(2) || r["news"] != float64(1) {
		t.Fatalf("after the agent's reconnect: %v", r)
	}
	if err := b.cmd.Process.Kill(); err != nil { // the client's instance: its sync on a sends the call again
		t.Fatal(err)
	}
	_, _ = fmt.Fprintln(p.stdin, "count 3")
	if r := p.event(t, "raw", 30*time.Second); r["raw"] != float64(3) || r["news"] != float64(1) || fmt.Sprint(r["pending"]) != "["+callID+"]" {
		t.Fatalf("after the client's reconnect: %v", r)
	}
	_, _ = fmt.Fprintln(p.stdin, "answer")
	r := p.event(t, "reply", 30*time.Second)
	if r["sent"] != true || r["again"] != false || r["status"] != "complete" || r["content"] != `Pinned "Milch kaufen"; the board holds 1 notes.` ||
		r["news"] != float64(1) || r["pending"] != float64(0) {
		t.Fatalf("the reply: %v", r)
	}
	// One call, answered, handed to the agent (the record follows the write
	// to the agent's socket, so it may come a moment after the reply's end).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) { // polling a state
		var calls, delivered int
		var result string
		if err := c.DB.Pool.QueryRow(t.Context(), `select count(*), count(delivered_at), coalesce(max(result), '') from app_tool_calls where session_id = $1`,
			session).Scan(&calls, &delivered, &result); err != nil {
			t.Fatal(err)
		}
		if calls == 1 && delivered == 1 && result == `{"count":1}` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("app_tool_calls: %d calls, %d delivered, result %s", calls, delivered, result)
		}
	}
	if code := p.wait(t, 15*time.Second); code != 0 {
		t.Fatalf("client scenario exited %d", code)
	}
}

// seedNotesSession publishes the sample notes app (local/echoagent's
// manifest) as userID's, installs it for them and opens it in conv with
// agentID in shared mode, as the apps routes do; it returns the session id.
func (c *cluster) seedNotesSession(t *testing.T, userID, conv, agentID, slug string) string {
	t.Helper()
	raw, err := os.ReadFile("../../local/echoagent/notes.manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := appbridge.ValidateManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.DB.OpenDeveloperAccount(ctx, userID, "Ada Apps", nil); err != nil {
		t.Fatal(err)
	}
	app, err := c.DB.CreateApp(ctx, userID, store.NewApp{Slug: slug, Name: "Notes", Visibility: "public"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DB.PublishVersion(ctx, userID, app.ID, "1.0.0", m.Canonical); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.DB.InstallApp(ctx, userID, app.ID, "install-notes"); err != nil {
		t.Fatal(err)
	}
	v, _, err := c.DB.OpenAppSession(ctx, userID, conv, store.NewAppSession{AppID: app.ID, Mode: "shared", AgentID: &agentID})
	if err != nil {
		t.Fatal(err)
	}
	return v.ID
}

// App events end to end in JavaScript (section 15, "A person's actions and
// the app's events"): while the TypeScript SDK's agent writes a reply, the
// client library reports the person's add_note in the notes app; the agent
// gets it from task.appEvents and ends its reply with its text line; an
// event the manifest does not declare is refused (unknown_event); the next
// task's history holds the action (task.historyAppEvents).
func TestJSClientReportsTSAgentSeesAppEvents(t *testing.T) {
	dir := clientJS(t)
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	user := testenv.NewUser(t, c.DB, "Ada")
	agentID, token := c.seedAgent(t, user.ID, "Watcher", "watcher")
	conv := c.seedConversation(t, user.ID, agentID)
	slug := "notes-" + testenv.RandomID(4)
	session := c.seedNotesSession(t, user.ID, conv, agentID, slug)
	agent := startTS(t, "dist/drive/drive.js", "SCENARIO=events", "ARI_RELAY_URL="+a.AgentURL(), "ARI_AGENT_TOKEN="+token)
	agent.event(t, "ready", 30*time.Second)
	urls, _ := json.Marshal([]string{b.ClientURL()})
	p := startNodeIn(t, dir, "dist/drive/drive.js", "SCENARIO=report", "URLS="+string(urls), "TOKEN="+user.Token,
		"CONVERSATION_ID="+conv, "SESSION_ID="+session)

	line := "[app " + slug + `] user invoked add_note {"text":"Brot"}`
	ev, _ := agent.event(t, "app-event", 30*time.Second)["frame"].(map[string]any)
	data, _ := ev["data"].(map[string]any)
	if ev["sessionId"] != session || ev["conversationId"] != conv || ev["app"] != slug || ev["kind"] != "action" || ev["name"] != "add_note" ||
		ev["actor"] != "user" || data["text"] != "Brot" || ev["text"] != line {
		t.Fatalf("the agent's app event: %v", ev)
	}
	r := p.event(t, "reported", 30*time.Second)
	ack, _ := r["ack"].(map[string]any)
	refused, _ := r["refused"].(map[string]any)
	if ack["type"] != "app_event_ack" || ack["id"] != "ua-drive-1" || ack["sessionId"] != session || ack["at"] == nil ||
		refused["name"] != "RelayError" || refused["code"] != "unknown_event" || r["status"] != "complete" || r["content"] != line {
		t.Fatalf("the client's report: %v", r)
	}
	h, _ := agent.event(t, "history", 30*time.Second)["entries"].([]any)
	if len(h) != 1 || h[0].(map[string]any)["text"] != line {
		t.Fatalf("the next task's history: %v", h)
	}
	if s := p.event(t, "second", 30*time.Second); s["content"] != "1 app events before this task" {
		t.Fatalf("the second reply: %v", s)
	}
}
