package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// A person's actions and the app's events (PROTOCOL.md section 15): the
// client running the app on one instance reports an action of its member
// (checked by the bridge as actor user) and an event of the app; each is
// acknowledged, recorded once however often it is sent, and reaches the
// agent's open task on the other instance as app_event; refusals are error
// frames with the bridge's code and record nothing; someone who is not a
// member gets not_found for the session as for an unknown id; the next
// task's history carries the events among the messages, by time.
func TestAppEventsReachTheAgent(t *testing.T) {
	w := newToolWorld(t, nil)
	ctx := context.Background()
	client := dialClient(t, w.a, w.ada)
	agent := dialAgent(t, w.b, w.token)
	client.sendMessage(w.conv, "play", "m1")
	taskID := agent.expect("task").str("taskId")

	action := func(id, name string, args any) {
		t.Helper()
		f := map[string]any{"type": "app_user_action", "sessionId": w.session, "id": id, "action": name}
		if args != nil {
			f["arguments"] = args
		}
		client.send(f)
	}
	acked := func(id string) {
		t.Helper()
		if f := client.expectWhere("", func(f frame) bool { return f.str("ref") == id || f.str("id") == id }); f.str("type") != "app_event_ack" ||
			f.str("sessionId") != w.session || f.str("at") == "" {
			t.Fatalf("answer to %s = %v, want app_event_ack", id, f)
		}
	}
	refused := func(p *peer, id, code string) {
		t.Helper()
		if f := p.expectWhere("error", func(f frame) bool { return f.str("ref") == id }); f.str("code") != code || f.str("message") == "" {
			t.Fatalf("error for %s = %v, want %s", id, f, code)
		}
	}
	recorded := func(session string) int {
		t.Helper()
		var n int
		if err := w.c.db.Pool.QueryRow(ctx, `select count(*) from app_events where session_id = $1`, session).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	action("u1", "move", map[string]any{"to": "e4", "from": "e2"})
	acked("u1")
	ev := agent.expect("app_event")
	if ev.str("taskId") != taskID || ev.str("conversationId") != w.conv || ev.str("sessionId") != w.session || ev.str("app") != w.slug ||
		ev.str("kind") != "action" || ev.str("name") != "move" || ev.str("actor") != "user" || ev.str("at") == "" ||
		ev.str("text") != "[app "+w.slug+`] user invoked move {"from":"e2","to":"e4"}` {
		t.Fatalf("app_event = %v", ev)
	}
	if data, _ := json.Marshal(ev["data"]); string(data) != `{"from":"e2","to":"e4"}` {
		t.Fatalf("app_event data = %s", data)
	}
	// Sent again: acknowledged, recorded and given once.
	action("u1", "move", map[string]any{"to": "e4", "from": "e2"})
	acked("u1")
	client.send(map[string]any{"type": "app_state_event", "sessionId": w.session, "id": "s1", "event": "board_changed", "data": map[string]any{"turn": "b"}})
	acked("s1")
	if ev := agent.expect("app_event"); ev.str("kind") != "state" || ev.str("name") != "board_changed" || ev["actor"] != nil ||
		ev.str("text") != "[app "+w.slug+`] state board_changed {"turn":"b"}` {
		t.Fatalf("app_event after the repeat = %v (want the state event: the repeated action is given once)", ev)
	}

	// Refusals: an error frame with the bridge's code, nothing recorded.
	action("r1", "hint", nil)
	refused(client, "r1", "forbidden_by_manifest")
	action("r2", "move", map[string]any{"from": "z9", "to": "e4"})
	refused(client, "r2", "invalid_arguments")
	action("r3", "fly", nil)
	refused(client, "r3", "unknown_action")
	action("r4", "move", "e2e4")
	refused(client, "r4", "invalid_arguments")
	client.send(map[string]any{"type": "app_state_event", "sessionId": w.session, "id": "r5", "event": "game_won"})
	refused(client, "r5", "unknown_event")
	client.sendRaw(1, []byte(`{"type":"app_state_event","sessionId":"`+w.session+`","id":"r6","event":"board_changed","data":{"a":1,"a":2}}`))
	refused(client, "r6", "invalid_data")
	client.send(map[string]any{"type": "app_user_action", "sessionId": w.session, "id": "r7"})
	refused(client, "r7", "invalid_frame")

	// Someone else, and unknown ids: the same not_found.
	eve := testenv.NewUser(t, w.c.db, "Eve")
	outsider := dialClient(t, w.b, eve)
	outsider.send(map[string]any{"type": "app_user_action", "sessionId": w.session, "id": "x1", "action": "move", "arguments": map[string]any{"from": "e2", "to": "e4"}})
	refused(outsider, "x1", "not_found")
	outsider.send(map[string]any{"type": "app_state_event", "sessionId": w.session, "id": "x2", "event": "board_changed"})
	refused(outsider, "x2", "not_found")
	client.send(map[string]any{"type": "app_user_action", "sessionId": "no-such-session", "id": "x3", "action": "move"})
	refused(client, "x3", "not_found")
	agent.pingPast("app_event")
	if n := recorded(w.session); n != 2 {
		t.Fatalf("%d events recorded, want 2", n)
	}

	agent.send(map[string]any{"type": "agent_complete", "taskId": taskID, "content": "done"})
	client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == taskID })
	client.sendMessage(w.conv, "your move", "m2")
	task := agent.expect("task")
	var history []map[string]any
	if b, err := json.Marshal(task["history"]); err != nil || json.Unmarshal(b, &history) != nil {
		t.Fatalf("history = %v", task["history"])
	}
	var got []string
	for _, h := range history {
		if h["type"] == "app_event" {
			got = append(got, h["kind"].(string)+" "+h["name"].(string)+" "+h["text"].(string))
		} else {
			got = append(got, h["role"].(string)+" "+h["content"].(string))
		}
	}
	want := []string{"user play", "action move [app " + w.slug + `] user invoked move {"from":"e2","to":"e4"}`,
		"state board_changed [app " + w.slug + `] state board_changed {"turn":"b"}`, "agent done"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("history:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	agent.send(map[string]any{"type": "agent_complete", "taskId": task.str("taskId"), "content": "ok"})
	client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == task.str("taskId") })

	// agent_only: the person may not act; an ended session records nothing.
	w.must(200, "POST", "/api/app-sessions/"+w.session+"/end", nil)
	action("e1", "move", map[string]any{"from": "e2", "to": "e4"})
	refused(client, "e1", "app_session_ended")
	only := w.must(201, "POST", "/api/conversations/"+w.conv+"/app-sessions", map[string]any{"appId": w.app, "mode": "agent_only", "agentId": w.agentID}).str("id")
	client.send(map[string]any{"type": "app_user_action", "sessionId": only, "id": "o1", "action": "move", "arguments": map[string]any{"from": "e2", "to": "e4"}})
	refused(client, "o1", "forbidden_by_mode")
	// The app still reports its events in agent_only.
	client.send(map[string]any{"type": "app_state_event", "sessionId": only, "id": "o2", "event": "board_changed"})
	if f := client.expectWhere("", func(f frame) bool { return f.str("id") == "o2" || f.str("ref") == "o2" }); f.str("type") != "app_event_ack" {
		t.Fatalf("state event in agent_only: %v", f)
	}
	if n := recorded(only); n != 1 {
		t.Fatalf("%d events recorded in the agent_only session, want 1", n)
	}
}

// What a person's apps report has a per-user limit over every instance
// (RATE_LIMIT_APP_EVENTS_*): past the burst, app_user_action and
// app_state_event are answered rate_limited with retryAfterMs before
// anything is checked, and nothing is recorded.
func TestAppEventsAreRateLimited(t *testing.T) {
	w := newToolWorld(t, map[string]string{"RATE_LIMIT_APP_EVENTS_PER_MINUTE": "1", "RATE_LIMIT_APP_EVENTS_BURST": "2"})
	ctx := context.Background()
	onA, onB := dialClient(t, w.a, w.ada), dialClient(t, w.b, w.ada)
	answer := func(p *peer, id string) frame {
		t.Helper()
		return p.expectWhere("", func(f frame) bool { return f.str("ref") == id || f.str("id") == id })
	}
	onA.send(map[string]any{"type": "app_user_action", "sessionId": w.session, "id": "l1", "action": "move", "arguments": map[string]any{"from": "e2", "to": "e4"}})
	if f := answer(onA, "l1"); f.str("type") != "app_event_ack" {
		t.Fatalf("first: %v", f)
	}
	onB.send(map[string]any{"type": "app_state_event", "sessionId": w.session, "id": "l2", "event": "board_changed"})
	if f := answer(onB, "l2"); f.str("type") != "app_event_ack" {
		t.Fatalf("second: %v", f)
	}
	for _, p := range []*peer{onA, onB} {
		p.send(map[string]any{"type": "app_state_event", "sessionId": w.session, "id": "l3", "event": "board_changed"})
		if f := answer(p, "l3"); f.str("type") != "error" || f.str("code") != "rate_limited" || f.num("retryAfterMs") < 1 {
			t.Fatalf("past the burst: %v", f)
		}
	}
	// Refused before any check: even a frame that would fail one.
	onA.send(map[string]any{"type": "app_user_action", "sessionId": "no-such-session", "id": "l4", "action": "move"})
	if f := answer(onA, "l4"); f.str("code") != "rate_limited" {
		t.Fatalf("past the burst, unknown session: %v", f)
	}
	var n int
	if err := w.c.db.Pool.QueryRow(ctx, `select count(*) from app_events where session_id = $1`, w.session).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d events recorded (%v), want 2", n, err)
	}
}
