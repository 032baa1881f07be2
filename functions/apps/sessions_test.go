package apps

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// sessionEvent reads an app session event's session.
func sessionEvent(t *testing.T, ev events.Event, want events.Type) ari.AppSessionView {
	t.Helper()
	if ev.Type != want {
		t.Fatalf("event %s, want %s", ev.Type, want)
	}
	return apitest.Decode[AppSessionData](t, ev.Data).Session
}

// TestAppSessionRoutes: every route as the opener, another member, the
// conversation's owner, an outsider (who installed the app too) and signed
// out; the events members get; a member without a socket finds them queued.
func TestAppSessionRoutes(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	dev := testenv.NewUser(t, e.DB, "dev")
	owner := testenv.NewUser(t, e.DB, "owner")
	member := testenv.NewUser(t, e.DB, "member")
	away := testenv.NewUser(t, e.DB, "away")
	outsider := testenv.NewUser(t, e.DB, "outsider")
	uninstalled := testenv.NewUser(t, e.DB, "uninstalled")

	for _, r := range [][2]string{{"POST", "/api/conversations/x/app-sessions"}, {"GET", "/api/conversations/x/app-sessions"},
		{"GET", "/api/app-sessions/x"}, {"PUT", "/api/app-sessions/x/state"}, {"POST", "/api/app-sessions/x/end"}} {
		e.Must(t, 401, "", r[0], r[1], map[string]any{})
	}

	e.Must(t, 201, dev.Token, "POST", "/api/developer", map[string]any{"displayName": "Knight Games"})
	app := apitest.Decode[store.DeveloperApp](t, e.Must(t, 201, dev.Token, "POST", "/api/developer/apps", map[string]any{"slug": slug(), "name": "Chess"}))
	e.Must(t, 201, dev.Token, "POST", "/api/developer/apps/"+app.ID+"/versions", map[string]any{"version": "1.0.0", "manifest": json.RawMessage(manifest)})
	for _, u := range []testenv.TestUser{owner, member, away, outsider} {
		e.Must(t, 201, u.Token, "POST", "/api/apps/"+app.ID+"/install", map[string]any{"idempotencyKey": "i-" + u.ID})
	}
	conv := apitest.Conversation(t, e.DB, "group", owner.ID, member.ID, away.ID, uninstalled.ID)
	agent := apitest.Agent(t, e.DB, owner.ID, "chess-bot", "private")
	if _, err := e.DB.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, agent); err != nil {
		t.Fatal(err)
	}
	otherAgent := apitest.Agent(t, e.DB, owner.ID, "other-bot", "private")
	ownerEvents, memberEvents := e.Listen(t, owner.ID), e.Listen(t, member.ID)
	open := "/api/conversations/" + conv + "/app-sessions"
	body := map[string]any{"appId": app.ID, "mode": "shared", "agentId": agent}

	// Opening: members who installed the app only; the input checked.
	e.Must(t, 404, outsider.Token, "POST", open, body)
	e.Must(t, 404, outsider.Token, "POST", open, map[string]any{"mode": "nonsense"})
	e.Must(t, 404, member.Token, "POST", "/api/conversations/no-such-conversation/app-sessions", body)
	e.Must(t, 403, uninstalled.Token, "POST", open, body)
	e.Must(t, 403, member.Token, "POST", open, map[string]any{"appId": "no-such-app", "mode": "user_only"})
	bad := func(token, method, path string, body any, field string) {
		t.Helper()
		st, b := e.Call(t, token, method, path, body)
		eb := apitest.Decode[apitest.ErrorBody](t, b)
		if st != 400 || eb.Error.Fields[field] == "" {
			t.Fatalf("%s %s %v: %d %s, want 400 naming %s", method, path, body, st, b, field)
		}
	}
	bad(member.Token, "POST", open, map[string]any{"appId": app.ID, "mode": "both"}, "mode")
	bad(member.Token, "POST", open, map[string]any{"appId": app.ID, "mode": "agent_only"}, "agentId")
	bad(member.Token, "POST", open, map[string]any{"appId": app.ID, "mode": "shared", "agentId": otherAgent}, "agentId")
	bad(member.Token, "POST", open, map[string]any{"mode": "user_only"}, "appId")

	s := apitest.Decode[ari.AppSessionView](t, e.Must(t, 201, member.Token, "POST", open, body))
	if s.Version != 1 || string(s.State) != "{}" || s.Mode != "shared" || *s.OpenedBy != member.ID || *s.AgentID != agent ||
		s.AppSlug != app.Slug || s.AppName != "Chess" || s.AppVersion != "1.0.0" || s.EntryURL != "https://knight.example/chess/" {
		t.Fatalf("opened %+v", s)
	}
	for _, next := range []func() events.Event{ownerEvents, memberEvents} {
		if got := sessionEvent(t, next(), events.AppSessionStarted); got.ID != s.ID || got.Version != 1 {
			t.Fatalf("started %+v", got)
		}
	}
	e.Must(t, 409, owner.Token, "POST", open, map[string]any{"appId": app.ID, "mode": "user_only"})

	// Reading: members; an outsider's answer is an unknown id's.
	path := "/api/app-sessions/" + s.ID
	e.Must(t, 200, owner.Token, "GET", path, nil)
	e.Must(t, 404, outsider.Token, "GET", path, nil)
	e.Must(t, 404, owner.Token, "GET", "/api/app-sessions/no-such-session", nil)
	if l := apitest.Decode[page[ari.AppSessionView]](t, e.Must(t, 200, uninstalled.Token, "GET", open, nil)); len(l.Items) != 1 || l.Items[0].ID != s.ID || l.NextCursor != nil {
		t.Fatalf("list %+v", l)
	}
	e.Must(t, 404, outsider.Token, "GET", open, nil)

	// State: optimistic concurrency.
	e.Must(t, 404, outsider.Token, "PUT", path+"/state", map[string]any{"version": 1, "state": map[string]any{"board": "x"}})
	e.Must(t, 404, outsider.Token, "PUT", path+"/state", map[string]any{"version": "nope"})
	u := apitest.Decode[ari.AppSessionView](t, e.Must(t, 200, owner.Token, "PUT", path+"/state",
		`{"version":1,"state":{"turn":"black","board":"rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR","moves":[1.5e3,0.1]}}`))
	// Numbers come back as JavaScript writes them; key order is Postgres's.
	if u.Version != 2 || !reflect.DeepEqual(apitest.Decode[any](t, u.State),
		apitest.Decode[any](t, []byte(`{"board":"rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR","moves":[1500,0.1],"turn":"black"}`))) ||
		!strings.Contains(string(u.State), `[1500,0.1]`) {
		t.Fatalf("updated %+v %s", u, u.State)
	}
	for _, next := range []func() events.Event{ownerEvents, memberEvents} {
		if got := sessionEvent(t, next(), events.AppSessionUpdated); got.Version != 2 || string(got.State) != string(u.State) {
			t.Fatalf("updated event %+v", got)
		}
	}
	st, b := e.Call(t, member.Token, "PUT", path+"/state", map[string]any{"version": 1, "state": map[string]any{"turn": "white"}})
	if eb := apitest.Decode[apitest.ErrorBody](t, b); st != 409 || eb.Error.Code != "version_conflict" ||
		!strings.Contains(eb.Error.Fields["version"], "version 2") || !strings.Contains(eb.Error.Message, "version 2") {
		t.Fatalf("stale write: %d %s", st, b)
	}
	deep := strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)
	for name, state := range map[string]string{
		"not an object":    `[1]`,
		"a string":         `"x"`,
		"deep":             deep,
		"duplicate keys":   `{"a":1,"a":2}`,
		"huge number":      `{"a":1e100000}`,
		"number past 1e30": `{"a":-1e31}`,
		"NUL in a key":     `{"a\u0000":1}`,
		"NUL in a value":   `{"a":"x\u0000"}`,
		"too large":        `{"a":"` + strings.Repeat("x", 16<<10) + `"}`,
	} {
		st, b := e.Call(t, owner.Token, "PUT", path+"/state", `{"version":2,"state":`+state+`}`)
		if st != 400 {
			t.Fatalf("%s: %d %.300s", name, st, b)
		}
	}
	bad(owner.Token, "PUT", path+"/state", map[string]any{"state": map[string]any{}}, "version")
	bad(owner.Token, "PUT", path+"/state", map[string]any{"version": 2}, "state")
	e.Must(t, 413, owner.Token, "PUT", path+"/state", `{"version":2,"state":{"a":"`+strings.Repeat("x", 20<<10)+`"}}`)
	if cur := apitest.Decode[ari.AppSessionView](t, e.Must(t, 200, member.Token, "GET", path, nil)); cur.Version != 2 {
		t.Fatalf("refused writes changed the session: %+v", cur)
	}

	// Ending: the opener or the owner; others are refused.
	e.Must(t, 403, uninstalled.Token, "POST", path+"/end", nil)
	e.Must(t, 404, outsider.Token, "POST", path+"/end", nil)
	ended := apitest.Decode[ari.AppSessionView](t, e.Must(t, 200, member.Token, "POST", path+"/end", nil))
	if ended.EndedAt == nil || *ended.EndedBy != member.ID {
		t.Fatalf("ended %+v", ended)
	}
	for _, next := range []func() events.Event{ownerEvents, memberEvents} {
		if got := sessionEvent(t, next(), events.AppSessionEnded); got.EndedAt == nil {
			t.Fatalf("ended event %+v", got)
		}
	}
	e.Must(t, 200, owner.Token, "POST", path+"/end", nil) // already ended: the same answer, no event
	e.Must(t, 409, owner.Token, "PUT", path+"/state", map[string]any{"version": 2, "state": map[string]any{}})
	if l := apitest.Decode[page[ari.AppSessionView]](t, e.Must(t, 200, member.Token, "GET", open, nil)); len(l.Items) != 0 {
		t.Fatalf("open after end %+v", l)
	}
	// The owner ends a session someone else opened.
	s2 := apitest.Decode[ari.AppSessionView](t, e.Must(t, 201, member.Token, "POST", open, map[string]any{"appId": app.ID, "mode": "user_only"}))
	if s2.AgentID != nil {
		t.Fatalf("user_only without an agent: %+v", s2)
	}
	e.Must(t, 200, owner.Token, "POST", "/api/app-sessions/"+s2.ID+"/end", nil)

	// The member without a socket has every event queued, in order.
	raw, err := e.Redis.LRange(ctx, e.Keys.Pending(away.ID), 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for i := len(raw) - 1; i >= 0; i-- { // LPUSH: newest first
		types = append(types, string(apitest.Decode[events.Event](t, []byte(raw[i])).Type))
	}
	if got := strings.Join(types, ","); got != "app_session_started,app_session_updated,app_session_ended,app_session_started,app_session_ended" {
		t.Fatalf("pending for the member away: %s", got)
	}
}
