package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// Tools (PROTOCOL.md section 15): the agent's task lists the tools of the
// app session open for it; a tool_call goes as app_action to the socket of
// the member who opened the session on the other relay instance, whose
// first app_action_result comes back as tool_result (a second answer is
// refused); every refusal the agent can provoke is a tool_result with the
// bridge's code; an unanswered call times out (APP_TOOL_TIMEOUT); a call
// id reused by another task is refused; in user_only mode the task has no
// tools and calls are forbidden_by_mode.
// toolWorld: Ada opened a chess app for her agent in their direct
// conversation (mode shared) on a cluster of two relays and the shim.
type toolWorld struct {
	c                               *cluster
	a, b                            *relayProc
	ada                             testenv.TestUser
	agentID, token, conv, slug, app string
	session                         string
	must                            func(want int, method, path string, body any) frame
}

func newToolWorld(t *testing.T, env map[string]string) *toolWorld {
	t.Helper()
	c := newCluster(t, env)
	a, b := c.start(), c.start()
	api := c.startShim()
	ada := testenv.NewUser(t, c.db, "Ada")
	agentID, token := newAgent(t, c.db, ada, "Chess Bot")
	conv := newConversation(t, c.db, "direct", []testenv.TestUser{ada}, agentID)
	must := func(want int, method, path string, body any) frame {
		t.Helper()
		st, out := callJSON(t, method, api+path, ada, body)
		if st != want {
			t.Fatalf("%s %s: %d %v, want %d", method, path, st, out, want)
		}
		return out
	}
	slug := "chess-" + testenv.RandomID(6)
	must(201, "POST", "/api/developer", map[string]any{"displayName": "Ada Games"})
	app := must(201, "POST", "/api/developer/apps", map[string]any{"slug": slug, "name": "Chess"}).str("id")
	must(201, "POST", "/api/developer/apps/"+app+"/versions", map[string]any{"version": "1.0.0", "manifest": map[string]any{
		"entryUrl": "https://chess.example/app",
		"actions": []any{
			map[string]any{"name": "move", "description": "Move a piece.", "parameters": map[string]any{
				"type": "object", "required": []string{"from", "to"}, "additionalProperties": false,
				"properties": map[string]any{"from": map[string]any{"type": "string", "pattern": "^[a-h][1-8]$"},
					"to": map[string]any{"type": "string", "pattern": "^[a-h][1-8]$"}}}},
			map[string]any{"name": "resign", "description": "Resign.", "actors": []string{"user"}},
			map[string]any{"name": "hint", "description": "Show a hint.", "actors": []string{"agent"}},
		},
		"events": []any{map[string]any{"name": "board_changed"}},
	}})
	must(201, "POST", "/api/apps/"+app+"/install", map[string]any{"idempotencyKey": "install"})
	session := must(201, "POST", "/api/conversations/"+conv+"/app-sessions", map[string]any{"appId": app, "mode": "shared", "agentId": agentID}).str("id")
	return &toolWorld{c: c, a: a, b: b, ada: ada, agentID: agentID, token: token, conv: conv, slug: slug, app: app, session: session, must: must}
}

func TestAppToolCalls(t *testing.T) {
	w := newToolWorld(t, map[string]string{"APP_TOOL_TIMEOUT": "3s"})
	a, b, ada, token, conv, slug, app, session, agentID, must := w.a, w.b, w.ada, w.token, w.conv, w.slug, w.app, w.session, w.agentID, w.must
	client := dialClient(t, a, ada) // the app runs here
	agent := dialAgent(t, b, token)
	client.sendMessage(conv, "play", "m1")
	task := agent.expect("task")
	taskID := task.str("taskId")
	var tools []struct {
		Name       string          `json:"name"`
		Parameters json.RawMessage `json:"parameters"`
	}
	if raw, err := json.Marshal(task["tools"]); err != nil || json.Unmarshal(raw, &tools) != nil || len(tools) != 2 ||
		tools[0].Name != slug+"__move" || tools[1].Name != slug+"__hint" {
		t.Fatalf("task.tools = %v", task["tools"])
	}

	call := func(callID, tool string, args any) {
		t.Helper()
		f := map[string]any{"type": "tool_call", "taskId": taskID, "callId": callID, "tool": tool}
		if args != nil {
			f["arguments"] = args
		}
		agent.send(f)
	}
	result := func(callID string) frame {
		t.Helper()
		return agent.expectWhere("tool_result", func(f frame) bool { return f.str("callId") == callID })
	}
	refused := func(callID, code string) {
		t.Helper()
		if f := result(callID); f["error"] == nil || f.obj("error").str("code") != code || f.obj("error").str("message") == "" || f["result"] != nil {
			t.Fatalf("tool_result for %s = %v, want error %s", callID, f, code)
		}
	}

	// The round trip, across the two instances.
	call("c1", slug+"__move", map[string]any{"to": "e4", "from": "e2"})
	act := client.expect("app_action")
	if act.str("sessionId") != session || act.str("callId") != "c1" || act.str("action") != "move" {
		t.Fatalf("app_action = %v", act)
	}
	if args, _ := json.Marshal(act["arguments"]); string(args) != `{"from":"e2","to":"e4"}` {
		t.Fatalf("app_action arguments = %s", args)
	}
	client.send(map[string]any{"type": "app_action_result", "sessionId": session, "callId": "c1", "result": map[string]any{"moved": true}})
	if f := result("c1"); f.str("taskId") != taskID || f.obj("result")["moved"] != true || f["error"] != nil {
		t.Fatalf("tool_result = %v", f)
	}
	client.send(map[string]any{"type": "app_action_result", "sessionId": session, "callId": "c1", "result": "again"})
	if f := client.expect("error"); f.str("code") != "already_answered" || f.str("ref") != "c1" {
		t.Fatalf("second answer: %v", f)
	}
	client.send(map[string]any{"type": "app_action_result", "sessionId": session, "callId": "nope", "result": 1})
	if f := client.expect("error"); f.str("code") != "not_found" {
		t.Fatalf("answer to no call: %v", f)
	}
	client.send(map[string]any{"type": "app_action_result", "sessionId": session, "callId": "c1"})
	if f := client.expect("error"); f.str("code") != "invalid_frame" {
		t.Fatalf("answer without result or error: %v", f)
	}

	// Refusals: nothing reaches the app.
	call("r1", "other__move", map[string]any{"from": "e2", "to": "e4"})
	refused("r1", "unknown_app")
	call("r2", slug+"__fly", nil)
	refused("r2", "unknown_action")
	call("r3", slug+"__resign", nil)
	refused("r3", "forbidden_by_manifest")
	call("r4", slug+"__move", map[string]any{"from": "z9", "to": "e4"})
	refused("r4", "invalid_arguments")
	call("r5", slug+"__move", `{"from":"e2","to":"e4"}`)
	refused("r5", "invalid_arguments")

	// Unanswered: the timeout answers, once; a late answer is refused.
	call("c2", slug+"__hint", map[string]any{})
	if f := client.expect("app_action"); f.str("callId") != "c2" {
		t.Fatalf("app_action = %v", f)
	}
	refused("c2", "timeout")
	client.send(map[string]any{"type": "app_action_result", "sessionId": session, "callId": "c2", "error": map[string]any{"code": "too_late", "message": "sorry"}})
	if f := client.expect("error"); f.str("code") != "already_answered" {
		t.Fatalf("late answer: %v", f)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": taskID, "content": "done"})
	client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == taskID })

	// The next task: c1 belongs to the first one.
	client.sendMessage(conv, "again", "m2")
	taskID = agent.expect("task").str("taskId")
	call("c1", slug+"__hint", nil)
	refused("c1", "call_id_in_use")
	call("c3", slug+"__hint", nil)
	if f := client.expect("app_action"); f.str("callId") != "c3" {
		t.Fatalf("app_action = %v", f)
	}
	client.send(map[string]any{"type": "app_action_result", "sessionId": session, "callId": "c3", "error": map[string]any{"code": "busy", "message": "the board is animating"}})
	if f := result("c3"); f.obj("error").str("code") != "busy" || f.obj("error").str("message") != "the board is animating" {
		t.Fatalf("tool_result with the app's error = %v", f)
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": taskID, "content": "done"})
	client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == taskID })

	// user_only: no tools, and the agent may not act.
	must(200, "POST", "/api/app-sessions/"+session+"/end", nil)
	must(201, "POST", "/api/conversations/"+conv+"/app-sessions", map[string]any{"appId": app, "mode": "user_only", "agentId": agentID})
	client.sendMessage(conv, "watch", "m3")
	task = agent.expect("task")
	taskID = task.str("taskId")
	if _, ok := task["tools"]; ok {
		t.Fatalf("tools in user_only: %v", task["tools"])
	}
	call("r6", slug+"__hint", nil)
	refused("r6", "forbidden_by_mode")
}

// Reconnect mid-call: the client running the app goes away after an
// app_action reached it and gets it again after its sync_result on the
// other instance; the agent goes away while the app answers and gets its
// tool_result when it authenticates again, once (recorded as delivered, so
// its next socket does not get it again).
func TestAppToolCallsAcrossReconnects(t *testing.T) {
	w := newToolWorld(t, nil)
	client := dialClient(t, w.a, w.ada)
	agent := dialAgent(t, w.b, w.token)
	client.sendMessage(w.conv, "play", "m1")
	taskID := agent.expect("task").str("taskId")

	agent.send(map[string]any{"type": "tool_call", "taskId": taskID, "callId": "c1", "tool": w.slug + "__move", "arguments": map[string]any{"from": "e2", "to": "e4"}})
	client.expectWhere("app_action", func(f frame) bool { return f.str("callId") == "c1" })
	_ = client.ws.Close()
	<-client.closed
	client = dialClient(t, w.b, w.ada)
	client.send(map[string]any{"type": "sync"})
	client.expect("sync_result")
	if f := client.expectWhere("app_action", func(f frame) bool { return f.str("callId") == "c1" }); f.str("action") != "move" || f.str("sessionId") != w.session {
		t.Fatalf("app_action after the reconnect = %v", f)
	}
	client.send(map[string]any{"type": "app_action_result", "sessionId": w.session, "callId": "c1", "result": "moved"})
	if f := agent.expectWhere("tool_result", func(f frame) bool { return f.str("callId") == "c1" }); f.str("result") != "moved" {
		t.Fatalf("tool_result = %v", f)
	}

	agent.send(map[string]any{"type": "tool_call", "taskId": taskID, "callId": "c2", "tool": w.slug + "__hint"})
	client.expectWhere("app_action", func(f frame) bool { return f.str("callId") == "c2" })
	_ = agent.ws.Close()
	<-agent.closed
	client.send(map[string]any{"type": "app_action_result", "sessionId": w.session, "callId": "c2", "result": "shown"})
	client.pingPast("error") // accepted
	agent = dialAgent(t, w.a, w.token)
	if f := agent.expectWhere("tool_result", func(f frame) bool { return f.str("callId") == "c2" }); f.str("result") != "shown" || f.str("taskId") != taskID {
		t.Fatalf("tool_result after the reconnect = %v", f)
	}
	for deadline := time.Now().Add(wait); ; {
		var delivered bool
		if err := w.c.db.Pool.QueryRow(context.Background(), `select delivered_at is not null from app_tool_calls where session_id = $1 and call_id = 'c2'`,
			w.session).Scan(&delivered); err != nil {
			t.Fatal(err)
		}
		if delivered {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the result was given but not recorded as delivered")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = agent.ws.Close()
	<-agent.closed
	agent = dialAgent(t, w.b, w.token)
	agent.pingPast("tool_result")
	agent.send(map[string]any{"type": "agent_complete", "taskId": taskID, "content": "done"})
	client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == taskID })
}

// The member who opened the session leaves the conversation (or is
// removed) while the agent works: its next call ends at once with
// app_unavailable, nothing reaches the former member's socket, and a sync
// there does not hand them the call either.
func TestAppToolCallOpenerLeft(t *testing.T) {
	w := newToolWorld(t, nil)
	client := dialClient(t, w.a, w.ada)
	agent := dialAgent(t, w.b, w.token)
	client.sendMessage(w.conv, "play", "m1")
	taskID := agent.expect("task").str("taskId")
	if _, err := w.c.db.Pool.Exec(context.Background(), `delete from conversation_members where conversation_id = $1 and user_id = $2`,
		w.conv, w.ada.ID); err != nil {
		t.Fatal(err)
	}
	agent.send(map[string]any{"type": "tool_call", "taskId": taskID, "callId": "c1", "tool": w.slug + "__move", "arguments": map[string]any{"from": "e2", "to": "e4"}})
	if f := agent.expectWhere("tool_result", func(f frame) bool { return f.str("callId") == "c1" }); f.obj("error").str("code") != "app_unavailable" {
		t.Fatalf("tool_result = %v, want app_unavailable", f)
	}
	client.send(map[string]any{"type": "sync"})
	client.expect("sync_result")
	client.pingPast("app_action")
}

// The instance that took a call (and timed it) is SIGKILLed while the app
// is silent; the agent is back on the other instance before the call's
// time is up. The sweeper there ends the call when its time comes: the
// agent gets tool_result timeout, once.
func TestAppToolCallTimeoutOutlivesItsInstance(t *testing.T) {
	w := newToolWorld(t, map[string]string{"APP_TOOL_TIMEOUT": "6s"})
	client := dialClient(t, w.a, w.ada)
	agent := dialAgent(t, w.b, w.token)
	client.sendMessage(w.conv, "play", "m1")
	taskID := agent.expect("task").str("taskId")
	agent.send(map[string]any{"type": "tool_call", "taskId": taskID, "callId": "c1", "tool": w.slug + "__hint"})
	client.expectWhere("app_action", func(f frame) bool { return f.str("callId") == "c1" }) // the app stays silent
	w.b.kill(t)
	<-agent.closed
	agent = dialAgent(t, w.a, w.token)
	if f := agent.expectWhereWithin("tool_result", 30*time.Second, func(f frame) bool { return f.str("callId") == "c1" }); f.obj("error").str("code") != "timeout" ||
		f.str("taskId") != taskID {
		t.Fatalf("tool_result = %v, want timeout", f)
	}
	agent.pingPast("tool_result")
}

// Every call is a row, a refused one too, with its error; the same call
// again is answered from the row (the same refusal, not checked again).
func TestAppToolCallRefusalsAreRows(t *testing.T) {
	w := newToolWorld(t, nil)
	client := dialClient(t, w.a, w.ada)
	agent := dialAgent(t, w.b, w.token)
	client.sendMessage(w.conv, "play", "m1")
	taskID := agent.expect("task").str("taskId")
	call := func(callID string, args any) frame {
		t.Helper()
		agent.send(map[string]any{"type": "tool_call", "taskId": taskID, "callId": callID, "tool": w.slug + "__move", "arguments": args})
		return agent.expectWhere("tool_result", func(f frame) bool { return f.str("callId") == callID })
	}
	first := call("r1", map[string]any{"from": "z9", "to": "e4"})
	if first.obj("error").str("code") != "invalid_arguments" {
		t.Fatalf("tool_result = %v", first)
	}
	var state, code, args string
	if err := w.c.db.Pool.QueryRow(context.Background(), `select state, error_code, arguments from app_tool_calls where session_id = $1 and call_id = 'r1'`,
		w.session).Scan(&state, &code, &args); err != nil {
		t.Fatalf("the refused call is not a row: %v", err)
	}
	if state != "refused" || code != "invalid_arguments" || args != `{"from":"z9","to":"e4"}` {
		t.Fatalf("row: %s %s %s", state, code, args)
	}
	// Again, even with arguments that would pass now: the row answers.
	again := call("r1", map[string]any{"from": "e2", "to": "e4"})
	if again.obj("error").str("code") != "invalid_arguments" || again.obj("error").str("message") != first.obj("error").str("message") {
		t.Fatalf("the same call again = %v, want %v", again, first)
	}
	client.pingPast("app_action")
	agent.send(map[string]any{"type": "agent_complete", "taskId": taskID, "content": "done"})
	client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == taskID })
}
