package reactions

import (
	"fmt"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestReactions(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	eve := testenv.NewUser(t, f.DB, "eve")
	conv := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	msg := apitest.Post(t, f.DB, conv, ada.ID, "hello", "bye")
	base := "/api/messages/" + msg[0] + "/reactions"
	adaHears, bobHears := f.Listen(t, ada.ID), f.Listen(t, bob.ID)

	st, raw := f.Call(t, bob.Token, "POST", base, map[string]string{"emoji": "👍🏽"})
	if c := apitest.Decode[ari.ReactionCount](t, raw); st != 201 || c.Count != 1 || !c.Me || c.Emoji != "👍🏽" {
		t.Fatalf("first add: %d %s", st, raw)
	}
	for _, hear := range []func() events.Event{adaHears, bobHears} {
		ev := hear()
		want := fmt.Sprintf(`{"messageId":%q,"userId":%q,"emoji":"👍🏽"}`, msg[0], bob.ID)
		if ev.Type != events.ReactionAdded || ev.ConversationID != conv || string(ev.Data) != want {
			t.Fatalf("event %+v %s", ev, ev.Data)
		}
	}
	// Idempotent: 200, the same count, no event.
	if st, raw := f.Call(t, bob.Token, "POST", base, map[string]string{"emoji": "👍🏽"}); st != 200 || apitest.Decode[ari.ReactionCount](t, raw).Count != 1 {
		t.Fatalf("second add: %d %s", st, raw)
	}
	if st, _ := f.Call(t, ada.Token, "POST", base, map[string]string{"emoji": "👍🏽"}); st != 201 {
		t.Fatal("ada's add")
	}
	if ev := bobHears(); ev.Type != events.ReactionAdded || !strings.Contains(string(ev.Data), ada.ID) {
		t.Fatalf("bob heard %+v (the repeated add must not be told)", ev)
	}
	adaHears()
	if st, _ := f.Call(t, ada.Token, "POST", base, map[string]string{"emoji": "🇩🇪"}); st != 201 {
		t.Fatal("flag")
	}
	bobHears()
	adaHears()

	st, raw = f.Call(t, bob.Token, "GET", base, nil)
	p := apitest.Decode[httpx.Page[ari.ReactionCount]](t, raw)
	want := []ari.ReactionCount{{Emoji: "👍🏽", Count: 2, Me: true}, {Emoji: "🇩🇪", Count: 1, Me: false}}
	if st != 200 || len(p.Items) != 2 || p.Items[0] != want[0] || p.Items[1] != want[1] {
		t.Fatalf("counts: %d %s", st, raw)
	}

	// Removing: the path carries the emoji, escaped.
	del := base + "/" + url.PathEscape("👍🏽")
	if st, _ := f.Call(t, bob.Token, "DELETE", del, nil); st != 204 {
		t.Fatalf("remove: %d", st)
	}
	if ev := adaHears(); ev.Type != events.ReactionRemoved || !strings.Contains(string(ev.Data), bob.ID) {
		t.Fatalf("removal event %+v", ev)
	}
	bobHears()
	if st, _ := f.Call(t, bob.Token, "DELETE", del, nil); st != 204 {
		t.Fatalf("remove again: %d", st)
	}
	st, raw = f.Call(t, bob.Token, "GET", base, nil)
	if st != 200 {
		t.Fatalf("list after removal: %d %s", st, raw)
	}
	p = apitest.Decode[httpx.Page[ari.ReactionCount]](t, raw)
	if len(p.Items) != 2 || p.Items[0].Count != 1 || p.Items[0].Me {
		t.Fatalf("after removal: %s", raw)
	}

	// Validation.
	for _, bad := range []any{
		map[string]string{"emoji": "ok"}, map[string]string{"emoji": ""}, map[string]string{"emoji": "👍👍"},
		map[string]string{"emoji": strings.Repeat("🇩", 40)}, map[string]any{"emoji": 1}, map[string]string{},
		map[string]string{"emoji": "👍", "x": "y"},
	} {
		if st, raw := f.Call(t, bob.Token, "POST", base, bad); st != 400 {
			t.Errorf("%v: %d %s", bad, st, raw)
		}
	}
	if st, _ := f.Call(t, bob.Token, "DELETE", base+"/"+url.PathEscape("not emoji"), nil); st != 400 {
		t.Errorf("bad emoji in path: %d", st)
	}

	// Outsiders and unknown messages: 404 everywhere, and nothing told.
	for _, c := range []struct{ method, path string }{
		{"GET", base}, {"POST", base}, {"DELETE", base + "/" + url.PathEscape("🇩🇪")},
		{"GET", "/api/messages/nope/reactions"}, {"POST", "/api/messages/nope/reactions"},
	} {
		tok := eve.Token
		if strings.Contains(c.path, "nope") {
			tok = ada.Token
		}
		if st, raw := f.Call(t, tok, c.method, c.path, map[string]string{"emoji": "👍"}); st != 404 {
			t.Errorf("%s %s: %d %s", c.method, c.path, st, raw)
		}
	}
	if st, raw := f.Call(t, bob.Token, "GET", base, nil); st != 200 || apitest.Decode[httpx.Page[ari.ReactionCount]](t, raw).Items[1].Count != 1 {
		t.Fatalf("outsider changed counts: %s", raw)
	}

	// A user's reactions on one message are bounded.
	other := "/api/messages/" + msg[1] + "/reactions"
	emoji := []string{"😀", "😁", "😂", "😃", "😄", "😅", "😆", "😇", "😈", "😉", "😊", "😋", "😌", "😍", "😎", "😏", "😐", "😑", "😒", "😓"}
	for _, e := range emoji {
		if st, _ := f.Call(t, ada.Token, "POST", other, map[string]string{"emoji": e}); st != 201 {
			t.Fatalf("reaction %s: %d", e, st)
		}
	}
	if st, _ := f.Call(t, ada.Token, "POST", other, map[string]string{"emoji": "😔"}); st != 409 {
		t.Fatalf("21st reaction: %d", st)
	}
	if st, _ := f.Call(t, ada.Token, "POST", other, map[string]string{"emoji": "😀"}); st != 200 {
		t.Fatalf("repeat at the bound: %d", st)
	}

	// A tombstone takes no reactions and shows none.
	if _, err := f.DB.DeleteMessage(t.Context(), ada.ID, msg[0]); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.Call(t, bob.Token, "POST", base, map[string]string{"emoji": "👍"}); st != 409 {
		t.Fatalf("reacting to a tombstone: %d", st)
	}
	if st, raw := f.Call(t, bob.Token, "GET", base, nil); st != 200 || len(apitest.Decode[httpx.Page[ari.ReactionCount]](t, raw).Items) != 0 {
		t.Fatalf("tombstone reactions: %s", raw)
	}
}

func TestRoutesNeedSignIn(t *testing.T) {
	f := setup(t)
	for _, p := range New(Deps{DB: f.DB}).Patterns() {
		method, path := httpx.SplitPattern(p)
		path = strings.NewReplacer("{id}", "x", "{emoji}", "y").Replace(path)
		if st, _ := f.Call(t, "", method, path, map[string]string{"emoji": "👍"}); st != http.StatusUnauthorized {
			t.Errorf("%s: %d without a session", p, st)
		}
	}
}
