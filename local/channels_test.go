package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// Community channels live, the way production makes them: REST sends,
// reactions, deletions, a ban and a channel's deletion through the shim's
// functions, received on real client sockets of the relay that subscribed
// with channel_subscribe; data keys as PROTOCOL.md section 18 lists them.
func TestChannelsLiveThroughTheShim(t *testing.T) {
	ln, port := loopback(t)
	p, h := shimFor(t, testenv.Config(t), true)
	serveTest(t, ln, h)
	base := "http://127.0.0.1:" + port
	ada := testenv.NewUser(t, p.DB, "Ada")
	bob := testenv.NewUser(t, p.DB, "Bob")
	eve := testenv.NewUser(t, p.DB, "Eve")

	rest := &apitest.Server{URL: base}
	call := func(token, method, path string, body any, want int) map[string]any {
		t.Helper()
		raw := rest.Must(t, want, token, method, path, body)
		if len(raw) == 0 {
			return nil
		}
		return apitest.Decode[map[string]any](t, raw)
	}
	type sock struct {
		ws     *websocket.Conn
		frames chan map[string]any
	}
	dial := func(u testenv.TestUser) *sock {
		ws, _, err := websocket.DefaultDialer.Dial("ws://127.0.0.1:"+port+"/ws", http.Header{"Authorization": {"Bearer " + u.Token}})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		s := &sock{ws: ws, frames: make(chan map[string]any, 1000)}
		t.Cleanup(func() { _ = ws.Close() })
		go func() {
			for {
				_, b, err := ws.ReadMessage()
				if err != nil {
					close(s.frames)
					return
				}
				var f map[string]any
				if json.Unmarshal(b, &f) == nil {
					s.frames <- f
				}
			}
		}()
		return s
	}
	send := func(s *sock, v any) {
		t.Helper()
		if err := s.ws.WriteJSON(v); err != nil {
			t.Fatal(err)
		}
	}
	// expect reads up to a frame of type typ, failing on any frame of a
	// type in forbidden first.
	expect := func(s *sock, typ string, forbidden ...string) map[string]any {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case f, ok := <-s.frames:
				if !ok {
					t.Fatalf("socket closed waiting for %s", typ)
				}
				ft, _ := f["type"].(string)
				if ft == typ {
					return f
				}
				if slices.Contains(forbidden, ft) {
					t.Fatalf("got %v while waiting for %s", f, typ)
				}
			case <-deadline:
				t.Fatalf("no %s within 10 s", typ)
			}
		}
	}
	// quiet: nothing of the channel reaches s before the answer to a ping
	// (the relay answers a socket's frames in order, and delivers what was
	// published before to every subscribed socket in one pass).
	quiet := func(s *sock) {
		t.Helper()
		send(s, map[string]any{"type": "ping"})
		expect(s, "pong", "channel_message_new", "channel_message_deleted", "channel_reaction_added", "channel_reaction_removed")
	}
	dataKeys := func(f map[string]any) []string {
		data, _ := f["data"].(map[string]any)
		var keys []string
		for k := range data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return keys
	}

	com := call(ada.Token, "POST", "/api/communities", map[string]any{"name": "Rust Berlin", "slug": "rust-berlin-" + strings.ToLower(ada.ID[:6]), "visibility": "public"}, http.StatusCreated)
	comID, _ := com["id"].(string)
	ch := call(ada.Token, "POST", "/api/communities/"+comID+"/channels", map[string]any{"name": "allgemein"}, http.StatusCreated)
	chID, _ := ch["id"].(string)
	call(bob.Token, "POST", "/api/communities/"+comID+"/join", nil, http.StatusOK)

	sa, sb, se := dial(ada), dial(bob), dial(eve)
	for _, s := range []*sock{sa, sb} {
		send(s, map[string]any{"type": "channel_subscribe", "channelId": chID})
		f := expect(s, "channel_subscribed")
		if f["channelId"] != chID || f["communityId"] != comID || f["lastSeq"] != float64(0) {
			t.Fatalf("channel_subscribed = %v", f)
		}
	}
	// Eve has not joined: refused, and she gets nothing of the channel.
	send(se, map[string]any{"type": "channel_subscribe", "channelId": chID})
	if f := expect(se, "error"); f["code"] != "forbidden" || f["ref"] != chID {
		t.Fatalf("a non-member's subscribe got %v", f)
	}

	msg := call(ada.Token, "POST", "/api/channels/"+chID+"/messages", map[string]any{"clientMessageId": "ch-1", "content": "Hallo Kanal"}, http.StatusCreated)
	msgID, _ := msg["id"].(string)
	for _, s := range []*sock{sa, sb} {
		f := expect(s, "channel_message_new")
		m, _ := f["data"].(map[string]any)["message"].(map[string]any)
		if f["channelId"] != chID || m["id"] != msgID || m["content"] != "Hallo Kanal" || m["seq"] != float64(1) {
			t.Fatalf("channel_message_new = %v", f)
		}
		if keys := dataKeys(f); !slices.Equal(keys, []string{"message"}) {
			t.Fatalf("channel_message_new data keys %v", keys)
		}
	}
	quiet(se)
	// A retry of the same send is answered, not published again.
	call(ada.Token, "POST", "/api/channels/"+chID+"/messages", map[string]any{"clientMessageId": "ch-1", "content": "Hallo Kanal"}, http.StatusOK)

	call(bob.Token, "POST", "/api/channels/"+chID+"/messages/"+msgID+"/reactions", map[string]any{"emoji": "👋"}, http.StatusCreated)
	f := expect(sa, "channel_reaction_added", "channel_message_new")
	if d, _ := f["data"].(map[string]any); d["messageId"] != msgID || d["userId"] != bob.ID || d["emoji"] != "👋" ||
		!slices.Equal(dataKeys(f), []string{"emoji", "messageId", "userId"}) {
		t.Fatalf("channel_reaction_added = %v", f)
	}
	call(bob.Token, "DELETE", "/api/channels/"+chID+"/messages/"+msgID+"/reactions/"+url.PathEscape("👋"), nil, http.StatusNoContent)
	expect(sa, "channel_reaction_removed")
	call(ada.Token, "DELETE", "/api/channels/"+chID+"/messages/"+msgID, nil, http.StatusNoContent)
	if f := expect(sb, "channel_message_deleted"); f["data"].(map[string]any)["messageId"] != msgID {
		t.Fatalf("channel_message_deleted = %v", f)
	}

	// Unsubscribed: nothing more reaches the socket.
	send(sa, map[string]any{"type": "channel_unsubscribe", "channelId": chID})
	if f := expect(sa, "channel_unsubscribed"); f["reason"] != "requested" {
		t.Fatalf("channel_unsubscribed = %v", f)
	}
	call(bob.Token, "POST", "/api/channels/"+chID+"/messages", map[string]any{"clientMessageId": "ch-2", "content": "noch da?"}, http.StatusCreated)
	expect(sb, "channel_message_new")
	quiet(sa)
	send(sa, map[string]any{"type": "channel_subscribe", "channelId": chID})
	if f := expect(sa, "channel_subscribed"); f["lastSeq"] != float64(2) {
		t.Fatalf("channel_subscribed again = %v", f)
	}

	// Bob is banned while subscribed: told at once, and the next message
	// reaches Ada but not him; subscribing again is refused.
	call(ada.Token, "POST", "/api/communities/"+comID+"/bans", map[string]any{"userId": bob.ID, "reason": "spam"}, http.StatusCreated)
	if f := expect(sb, "channel_unsubscribed"); f["reason"] != "removed" || f["channelId"] != chID {
		t.Fatalf("the banned member got %v", f)
	}
	call(ada.Token, "POST", "/api/channels/"+chID+"/messages", map[string]any{"clientMessageId": "ch-3", "content": "ohne Bob"}, http.StatusCreated)
	expect(sa, "channel_message_new")
	quiet(sb)
	send(sb, map[string]any{"type": "channel_subscribe", "channelId": chID})
	if f := expect(sb, "error"); f["code"] != "forbidden" {
		t.Fatalf("a banned member's subscribe got %v", f)
	}

	// The channel is deleted: its subscribers are told.
	call(ada.Token, "DELETE", "/api/channels/"+chID, nil, http.StatusNoContent)
	if f := expect(sa, "channel_unsubscribed"); f["reason"] != "deleted" {
		t.Fatalf("after the channel's deletion: %v", f)
	}
	send(sa, map[string]any{"type": "channel_subscribe", "channelId": chID})
	if f := expect(sa, "error"); f["code"] != "not_found" {
		t.Fatalf("subscribing to a deleted channel got %v", f)
	}
}
