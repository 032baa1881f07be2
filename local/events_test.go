package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// userEvents are the event types clients receive (shared/events' other
// types go to agents' channels or stay among relays).
var userEvents = []events.Type{events.MessageNew, events.MessageDeleted, events.ReactionAdded,
	events.ReactionRemoved, events.ReadUpdated, events.MemberAdded, events.MemberRemoved,
	events.ConversationCreated, events.ConversationUpdated, events.ConversationDeleted,
	events.AppSessionStarted, events.AppSessionUpdated, events.AppSessionEnded}

// eventTable reads relay/PROTOCOL.md §7's table of event types: type → the
// keys of its data (nil for "—", no data).
func eventTable(t *testing.T) map[string][]string {
	t.Helper()
	doc, err := os.ReadFile("../relay/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "| type | `data` | sent when |")
	if start < 0 {
		t.Fatal("PROTOCOL.md has no event table (| type | `data` | sent when |)")
	}
	table := map[string][]string{}
	name := regexp.MustCompile("`([a-z_]+)`")
	for _, line := range strings.Split(text[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "|") {
			break
		}
		cols := strings.Split(line, "|")
		if len(cols) < 4 {
			t.Fatalf("event table row %q", line)
		}
		var keys []string
		if data := strings.Trim(strings.TrimSpace(cols[2]), "`"); data != "—" {
			for _, k := range strings.Split(strings.Trim(data, "{}"), ",") {
				keys = append(keys, strings.TrimSpace(k))
			}
			slices.Sort(keys)
		}
		for _, m := range name.FindAllStringSubmatch(cols[1], -1) {
			table[m[1]] = keys
		}
	}
	return table
}

// Every event type is made the way it is in production (REST functions
// through the shim, the relay for socket sends and read marks), received on
// real client sockets, and its data's keys are the ones PROTOCOL.md §7 lists.
func TestEveryEventMatchesTheProtocolTable(t *testing.T) {
	table := eventTable(t)
	for _, typ := range userEvents {
		if _, ok := table[string(typ)]; !ok {
			t.Errorf("PROTOCOL.md §7 has no row for %s", typ)
		}
	}
	ln, port := loopback(t)
	p, h := shimFor(t, testenv.Config(t), true)
	serveTest(t, ln, h)
	base := "http://127.0.0.1:" + port
	ada := testenv.NewUser(t, p.DB, "Ada")
	bob := testenv.NewUser(t, p.DB, "Bob")
	agent := apitest.Agent(t, p.DB, ada.ID, "echo-bot", "private")

	call := func(token, method, path string, body any) map[string]any {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req, _ := http.NewRequest(method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
		}
		return out
	}
	// Frames of every socket go to one channel, each tagged with its socket.
	type got struct {
		who   string
		frame map[string]any
	}
	all := make(chan got, 1000)
	dial := func(who string, u testenv.TestUser) *websocket.Conn {
		ws, _, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+port+"/ws", http.Header{"Authorization": {"Bearer " + u.Token}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		go func() {
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					return
				}
				var f map[string]any
				if json.Unmarshal(b, &f) == nil {
					all <- got{who, f}
				}
			}
		}()
		return ws
	}
	a1, _ := dial("ada1", ada), dial("ada2", ada)
	dial("bob", bob)
	send := func(ws *websocket.Conn, v any) {
		if err := ws.WriteJSON(v); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]map[string]any{}
	await := func(typ events.Type) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for seen[string(typ)] == nil {
			select {
			case g := <-all:
				if ft, _ := g.frame["type"].(string); g.who != "ada1" || ft == "read_updated" {
					if _, isEvent := table[ft]; isEvent && seen[ft] == nil {
						seen[ft] = g.frame
					}
				}
			case <-deadline:
				t.Fatalf("no %s event within 10 s", typ)
			}
		}
	}

	group := call(ada.Token, "POST", "/api/groups", map[string]any{"title": "Reise", "userIds": []string{bob.ID}})
	g, _ := group["id"].(string)
	await(events.ConversationCreated)
	send(a1, map[string]any{"type": "send_message", "conversationId": g, "content": "hallo", "clientMessageId": "ev-1"})
	await(events.MessageNew)
	msg, _ := seen["message_new"]["data"].(map[string]any)["message"].(map[string]any)
	msgID, _ := msg["id"].(string)
	call(bob.Token, "POST", "/api/messages/"+msgID+"/reactions", map[string]any{"emoji": "👍"})
	await(events.ReactionAdded)
	call(bob.Token, "DELETE", "/api/messages/"+msgID+"/reactions/"+url.PathEscape("👍"), nil)
	await(events.ReactionRemoved)
	send(a1, map[string]any{"type": "mark_read", "conversationId": g, "seq": 1})
	await(events.ReadUpdated)
	call(ada.Token, "PUT", "/api/conversations/"+g, map[string]any{"title": "Reiseplanung"})
	await(events.ConversationUpdated)
	call(ada.Token, "POST", "/api/groups/"+g+"/members", map[string]any{"agentId": agent})
	await(events.MemberAdded)
	call(ada.Token, "POST", "/api/developer", map[string]any{"displayName": "Ada Games"})
	app, _ := call(ada.Token, "POST", "/api/developer/apps", map[string]any{"slug": "ev-" + strings.ToLower(testenv.RandomID(6)), "name": "Chess"})["id"].(string)
	call(ada.Token, "POST", "/api/developer/apps/"+app+"/versions", map[string]any{"version": "1", "manifest": map[string]any{"entryUrl": "https://chess.example/"}})
	call(ada.Token, "POST", "/api/apps/"+app+"/install", map[string]any{"idempotencyKey": "ev-install"})
	session, _ := call(ada.Token, "POST", "/api/conversations/"+g+"/app-sessions", map[string]any{"appId": app, "mode": "shared", "agentId": agent})["id"].(string)
	await(events.AppSessionStarted)
	call(ada.Token, "PUT", "/api/app-sessions/"+session+"/state", map[string]any{"version": 1, "state": map[string]any{"board": "e4"}})
	await(events.AppSessionUpdated)
	call(ada.Token, "POST", "/api/app-sessions/"+session+"/end", nil)
	await(events.AppSessionEnded)
	call(ada.Token, "DELETE", "/api/groups/"+g+"/members/"+agent, nil)
	await(events.MemberRemoved)
	call(ada.Token, "DELETE", "/api/messages/"+msgID, nil)
	await(events.MessageDeleted)
	call(ada.Token, "DELETE", "/api/conversations/"+g, nil)
	await(events.ConversationDeleted)

	for _, typ := range userEvents {
		f := seen[string(typ)]
		data, _ := f["data"].(map[string]any)
		var keys []string
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := table[string(typ)]; !slices.Equal(keys, want) {
			t.Errorf("%s: data has keys %v, PROTOCOL.md §7 says %v (%v)", typ, keys, want, f)
		}
	}
}
