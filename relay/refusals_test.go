package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/presence"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/gorilla/websocket"
)

func TestAgentAuthRefusals(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	// The auth deadline is tested on an instance of its own with a short
	// one: on r, every socket here has the default 10 s to send auth, which
	// a loaded machine keeps.
	c.env["RELAY_AGENT_AUTH_TIMEOUT"] = "500ms"
	hasty := c.start()
	w := newWorld(t, c)
	url := "ws://" + r.addr + "/ws/agent"

	silent := dial(t, "ws://"+hasty.addr+"/ws/agent", nil)
	if e := silent.expect("auth_error"); e.str("code") != "auth_timeout" {
		t.Fatalf("auth_error = %v", e)
	}
	if code := silent.waitClosed(); code != 4009 {
		t.Fatalf("close %d, want 4009", code)
	}

	wrong := dial(t, url, nil)
	wrong.send(map[string]any{"type": "auth", "token": "ari_" + strings.Repeat("0", 48)})
	if e := wrong.expect("auth_error"); e.str("code") != "unauthorized" {
		t.Fatalf("auth_error = %v", e)
	}
	if code := wrong.waitClosed(); code != 4001 {
		t.Fatalf("close %d, want 4001", code)
	}

	notAuth := dial(t, url, nil)
	notAuth.send(map[string]any{"type": "ping"})
	if e := notAuth.expect("auth_error"); e.str("code") != "auth_required" {
		t.Fatalf("auth_error = %v", e)
	}
	if code := notAuth.waitClosed(); code != 4001 {
		t.Fatalf("close %d, want 4001", code)
	}

	// Regenerate the token: the old one no longer signs in.
	live := dialAgent(t, r, w.agentToken)
	newToken, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.db.Pool.Exec(context.Background(), `update agents set token_hash = $2, token_hint = $3 where id = $1`, w.agentID, hash, hint); err != nil {
		t.Fatal(err)
	}
	old := dial(t, url, nil)
	old.send(map[string]any{"type": "auth", "token": w.agentToken})
	if e := old.expect("auth_error"); e.str("code") != "unauthorized" {
		t.Fatalf("old token: %v", e)
	}
	// ... and the function that regenerated it tells the relay, which closes
	// the socket signed in with the old one.
	rdb, _ := testenv.Redis(t)
	ev, _ := events.New(events.AgentTokenRevoked, "", map[string]string{"agentId": w.agentID})
	if err := events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix}).ToAgent(context.Background(), w.agentID, ev); err != nil {
		t.Fatal(err)
	}
	if code := live.waitClosed(); code != 4003 {
		t.Fatalf("revoked socket closed with %d, want 4003", code)
	}
	fresh := dialAgent(t, r, newToken)

	// A newer socket of the same agent replaces the older one.
	newer := dialAgent(t, r, newToken)
	if code := fresh.waitClosed(); code != 4004 {
		t.Fatalf("replaced socket closed with %d, want 4004", code)
	}

	// Frames about someone else's task are refused; the socket stays open.
	other := testenv.NewUser(t, c.db, "Eve")
	otherAgent, otherToken := newAgent(t, c.db, other, "Other Bot")
	otherConv := newConversation(t, c.db, "direct", []testenv.TestUser{other}, otherAgent)
	eve := dialClient(t, r, other)
	otherPeer := dialAgent(t, r, otherToken)
	eve.sendMessage(otherConv, "geheim", "o-1")
	foreign := otherPeer.expect("task").str("taskId")
	for _, f := range []map[string]any{
		{"type": "agent_chunk", "taskId": foreign, "content": "mine now"},
		{"type": "agent_complete", "taskId": foreign},
		{"type": "agent_error", "taskId": "made-up", "error": "x"},
	} {
		newer.send(f)
		if e := newer.expect("error"); e.str("code") != "not_your_task" || e.str("ref") != f["taskId"] {
			t.Fatalf("error = %v", e)
		}
	}
	newer.send(map[string]any{"type": "ping"})
	newer.expect("pong")
	otherPeer.send(map[string]any{"type": "agent_complete", "taskId": foreign, "content": "richtig"})
	if got := eve.collect(foreign, nil); got.ended.str("content") != "richtig" {
		t.Fatalf("foreign reply = %v", got.ended)
	}
}

func TestBadClientFrames(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	p := dialClient(t, r, w.users[0])
	bystander := dialClient(t, r, w.users[0])
	for _, tc := range []struct {
		raw, code, field string
	}{
		{`{"type":`, "invalid_json", ""},
		{`[1,2]`, "invalid_frame", ""},
		{`{"type":"launch_rocket"}`, "unknown_type", "type"},
		{`{"type":"send_message","conversationId":"c1","clientMessageId":"m1"}`, "invalid_frame", "content"},
		{`{"type":"mark_read","conversationId":"c1","seq":"12"}`, "invalid_frame", "seq"},
	} {
		p.sendRaw(websocket.TextMessage, []byte(tc.raw))
		e := p.expect("error")
		if e.str("code") != tc.code || e.str("field") != tc.field {
			t.Fatalf("%s: error = %v", tc.raw, e)
		}
	}
	// Foreign conversation: not_found, nothing stored.
	p.send(map[string]any{"type": "send_message", "conversationId": "not-mine", "content": "x", "clientMessageId": "z"})
	if e := p.expect("error"); e.str("code") != "not_found" || e.str("ref") != "z" {
		t.Fatalf("error = %v", e)
	}
	p.send(map[string]any{"type": "ping"})
	p.expect("pong")

	big := dialClient(t, r, w.users[0])
	big.sendRaw(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 33<<10)+`"}`))
	if code := big.waitClosed(); code != 1009 {
		t.Fatalf("33 KB frame: close %d, want 1009", code)
	}
	bin := dialClient(t, r, w.users[0])
	bin.sendRaw(websocket.BinaryMessage, []byte(`{"type":"ping"}`))
	if code := bin.waitClosed(); code != 1003 {
		t.Fatalf("binary frame: close %d, want 1003", code)
	}
	// Everyone else is still served.
	bystander.send(map[string]any{"type": "ping"})
	bystander.expect("pong")
	ack := bystander.sendMessage(w.conv, "noch da", "b-1")
	if ack.obj("message").num("seq") != 1 {
		t.Fatalf("ack = %v", ack)
	}
}

func TestUpgradeRefusals(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	for _, tc := range []struct {
		name   string
		header http.Header
		status int
	}{
		{"no session", nil, http.StatusUnauthorized},
		{"bad token", http.Header{"Authorization": {"Bearer nope"}}, http.StatusUnauthorized},
		// Not printable ASCII: no token at all, whatever the bytes.
		{"token not UTF-8", http.Header{"Authorization": {"Bearer \xc3\x28"}}, http.StatusUnauthorized},
		{"token of bytes ff fe", http.Header{"Authorization": {"Bearer \xff\xfe"}}, http.StatusUnauthorized},
		{"foreign origin", http.Header{"Authorization": {"Bearer " + w.users[0].Token}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
	} {
		_, resp, err := websocket.DefaultDialer.Dial("ws://"+r.addr+"/ws", tc.header)
		if err == nil || resp == nil || resp.StatusCode != tc.status {
			t.Fatalf("%s: err %v, resp %v; want %d", tc.name, err, resp, tc.status)
		}
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body.Error.Code == "" {
			t.Fatalf("%s: no JSON error body", tc.name)
		}
	}
	// A NUL (or another control byte) in the header never reaches the relay's
	// code: Go's HTTP server answers 400 itself. Never a 5xx.
	for _, bearer := range []string{"Bearer \x00", "Bearer ok\x00", "Bearer \x7f"} {
		st, body := testenv.RawRequest(t, r.addr, "GET /ws HTTP/1.1\r\nHost: "+r.addr+"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: "+bearer+"\r\n\r\n")
		if st < 400 || st >= 500 {
			t.Fatalf("Authorization %q: %d %s", bearer, st, body)
		}
	}
	// Our own origin is fine.
	dial(t, "ws://"+r.addr+"/ws", http.Header{"Authorization": {"Bearer " + w.users[0].Token}, "Origin": {"http://app.test:3501"}})
}

func TestReadMarksAndPendingEvents(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	ada := testenv.NewUser(t, c.db, "Ada")
	bob := testenv.NewUser(t, c.db, "Bob")
	conv := newConversation(t, c.db, "group", []testenv.TestUser{ada, bob})
	a1 := dialClient(t, r, ada)
	a2 := dialClient(t, r, ada)
	// Bob has no socket: Ada's messages reach him as pending events.
	for i, s := range []string{"eins", "zwei", "drei"} {
		a1.sendMessage(conv, s, "p-"+string(rune('a'+i)))
	}
	a1.send(map[string]any{"type": "mark_read", "conversationId": conv, "seq": 2})
	if ev := a2.expect("read_updated"); ev.obj("data").num("seq") != 2 {
		t.Fatalf("read_updated = %v", ev)
	}
	// Backwards (or the same again): nothing changes, so nothing is echoed;
	// the next read_updated a2 sees is the next forward move.
	a1.send(map[string]any{"type": "mark_read", "conversationId": conv, "seq": 1})
	a1.send(map[string]any{"type": "mark_read", "conversationId": conv, "seq": 2})
	a1.pingPast("error")
	a1.send(map[string]any{"type": "mark_read", "conversationId": conv, "seq": 3})
	if ev := a2.expect("read_updated"); ev.obj("data").num("seq") != 3 {
		t.Fatalf("a mark that did not move was echoed: %v", ev)
	}
	// a2 marks read in its turn. Its read_updated reaches a1 through the same
	// user channel as any echo of a1's own marks, published after them, so it
	// is the first read_updated a1 may see.
	a2.send(map[string]any{"type": "mark_read", "conversationId": conv, "seq": 3}) // already there: no echo
	a2.pingPast("error")
	a1.pingPast("read_updated")

	b := dialClient(t, r, bob)
	b.send(map[string]any{"type": "sync"})
	res := b.expect("sync_result")
	evs, _ := res["events"].([]any)
	if len(evs) != 3 || res["dropped"] != false {
		t.Fatalf("events = %v", res["events"])
	}
	for i, want := range []string{"eins", "zwei", "drei"} {
		ev := frame(evs[i].(map[string]any))
		if ev.str("type") != "message_new" || ev.obj("data").obj("message").str("content") != want {
			t.Fatalf("event %d = %v", i, ev)
		}
	}
	convs, _ := res["conversations"].([]any)
	if len(convs) != 1 {
		t.Fatalf("conversations = %v", convs)
	}
	cs := frame(convs[0].(map[string]any))
	if cs.num("lastSeq") != 3 || cs.num("lastReadSeq") != 0 || cs.num("unreadCount") != 3 {
		t.Fatalf("state = %v", cs)
	}
	// Delivered events are gone; an up-to-date cursor leaves the conversation out.
	b.send(map[string]any{"type": "sync", "cursors": map[string]int64{conv: 3}})
	res = b.expect("sync_result")
	if evs, _ := res["events"].([]any); len(evs) != 0 {
		t.Fatalf("events delivered twice: %v", evs)
	}
	if cs, _ := res["conversations"].([]any); len(cs) != 0 {
		t.Fatalf("conversations = %v", cs)
	}
	a1.send(map[string]any{"type": "sync"})
	res = a1.expect("sync_result")
	cs = frame(res["conversations"].([]any)[0].(map[string]any))
	if cs.num("lastReadSeq") != 3 || cs.num("unreadCount") != 0 {
		t.Fatalf("ada's state = %v", cs)
	}
}

func TestSkillsFocusAndDeletedConversation(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)
	ctx := context.Background()
	rdb, _ := testenv.Redis(t)
	keys := kv.Keys{Prefix: c.prefix}

	agent.send(map[string]any{"type": "skills", "skills": []map[string]string{{"name": "echo", "description": "repeats"}}})
	client.send(map[string]any{"type": "focus", "conversationId": w.conv, "visible": true})
	deadline := time.Now().Add(wait)
	for {
		var skills string
		if err := c.db.Pool.QueryRow(ctx, `select skills::text from agents where id = $1`, w.agentID).Scan(&skills); err != nil {
			t.Fatal(err)
		}
		looking, err := presence.Focused(ctx, rdb, keys, w.users[0].ID, w.conv)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(skills, `"echo"`) && looking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("skills %s, focused %v", skills, looking)
		}
		time.Sleep(50 * time.Millisecond)
	}

	client.sendMessage(w.conv, "gleich weg", "del-1")
	task := agent.expect("task")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "a", "mode": "delta"})
	client.expect("stream_chunk")
	if _, err := c.db.Pool.Exec(ctx, `delete from conversations where id = $1`, w.conv); err != nil {
		t.Fatal(err)
	}
	if tc := agent.expect("task_cancel"); tc.str("taskId") != task.str("taskId") || tc.str("reason") != "conversation_deleted" {
		t.Fatalf("task_cancel = %v", tc)
	}
	// Later chunks for it are dropped silently.
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "b", "mode": "delta"})
	agent.pingPast("error")
	// The relay read the chunk before the agent's ping; a frame it made of
	// the chunk would be delivered to the client before the pong answering a
	// later ping.
	client.pingPast("stream_chunk")
}

func TestDeletedAgentEndsItsReplies(t *testing.T) {
	c := newCluster(t, nil)
	r := c.start()
	w := newWorld(t, c)
	client := dialClient(t, r, w.users[0])
	agent := dialAgent(t, r, w.agentToken)
	client.sendMessage(w.conv, "hallo", "rv-1")
	task := agent.expect("task")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": task.str("taskId"), "content": "bis ", "mode": "delta"})
	client.expect("stream_chunk")
	// What functions/agents does on delete: the row goes, then the event.
	if _, err := c.db.Pool.Exec(context.Background(), `delete from agents where id = $1`, w.agentID); err != nil {
		t.Fatal(err)
	}
	rdb, _ := testenv.Redis(t)
	ev, _ := events.New(events.AgentDeleted, "", map[string]string{"agentId": w.agentID})
	if err := events.NewPublisher(rdb, kv.Keys{Prefix: c.prefix}).ToAgent(context.Background(), w.agentID, ev); err != nil {
		t.Fatal(err)
	}
	if code := agent.waitClosed(); code != 4003 {
		t.Fatalf("close %d, want 4003", code)
	}
	end := client.expectWhere("stream_end", func(f frame) bool { return f.str("messageId") == task.str("taskId") })
	if end.str("status") != "error" || end.obj("error").str("code") != "agent_offline" || end.str("content") != "bis " {
		t.Fatalf("stream_end = %v", end)
	}
}
