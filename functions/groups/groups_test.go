package groups

import (
	"context"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"net/http"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func memberIDs(t *testing.T, f *apitest.Env, token, group string) map[string]string {
	t.Helper()
	st, raw := f.Call(t, token, "GET", "/api/groups/"+group+"/members", nil)
	if st != 200 {
		t.Fatalf("members: %d %s", st, raw)
	}
	p := apitest.Decode[httpx.Page[ari.Member]](t, raw)
	out := map[string]string{}
	for _, m := range p.Items {
		out[m.ID] = m.Kind + ":" + m.Role
	}
	return out
}

func TestGroupLifecycle(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	cat := testenv.NewUser(t, f.DB, "cat")
	eve := testenv.NewUser(t, f.DB, "eve")
	mine := apitest.Agent(t, f.DB, ada.ID, "Helper", "private")
	public := apitest.Agent(t, f.DB, eve.ID, "Public", "public")
	evesPrivate := apitest.Agent(t, f.DB, eve.ID, "Secret", "private")

	bobHears := f.Listen(t, bob.ID)
	st, raw := f.Call(t, ada.Token, "POST", "/api/groups", map[string]any{
		"title": "  Trip  ", "userIds": []string{bob.ID}, "agentIds": []string{mine, public}})
	if st != 201 {
		t.Fatalf("create: %d %s", st, raw)
	}
	g := apitest.Decode[ari.Conversation](t, raw)
	if g.Kind != "group" || g.Title != "Trip" || g.Role != "owner" || len(g.Agents) != 2 {
		t.Fatalf("group %+v", g)
	}
	if ev := bobHears(); ev.Type != events.ConversationCreated || ev.ConversationID != g.ID {
		t.Fatalf("bob heard %+v", ev)
	}
	want := map[string]string{ada.ID: "user:owner", bob.ID: "user:member", mine: "agent:member", public: "agent:member"}
	if got := memberIDs(t, f, bob.Token, g.ID); !sameMap(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}

	// Adding: only owners and admins; agents must be visible to the adder.
	members := "/api/groups/" + g.ID + "/members"
	if st, raw := f.Call(t, bob.Token, "POST", members, map[string]string{"userId": cat.ID}); st != 403 {
		t.Fatalf("member adding: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, eve.Token, "POST", members, map[string]string{"userId": cat.ID}); st != 404 {
		t.Fatalf("outsider adding: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "POST", members, map[string]string{"agentId": evesPrivate}); st != 404 {
		t.Fatalf("adding someone's private agent: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "POST", members, map[string]string{"userId": "nobody"}); st != 404 {
		t.Fatalf("adding unknown user: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "POST", members, map[string]string{"userId": bob.ID}); st != 409 {
		t.Fatalf("adding a member again: %d: %s", st, raw)
	}
	for _, bad := range []any{map[string]string{}, map[string]string{"userId": cat.ID, "agentId": mine}, map[string]any{"userId": 5}, map[string]string{"who": "x"}} {
		if st, raw := f.Call(t, ada.Token, "POST", members, bad); st != 400 {
			t.Fatalf("bad body %v: %d %s", bad, st, raw)
		}
	}
	catHears := f.Listen(t, cat.ID)
	st, raw = f.Call(t, ada.Token, "POST", members, map[string]string{"userId": cat.ID})
	if m := apitest.Decode[ari.Member](t, raw); st != 201 || m.ID != cat.ID || m.Kind != "user" || m.Role != "member" || m.Name != "cat" {
		t.Fatalf("add cat: %d %s", st, raw)
	}
	for _, hear := range []func() events.Event{bobHears, catHears} {
		ev := hear()
		if ev.Type != events.MemberAdded || ev.ConversationID != g.ID || !strings.Contains(string(ev.Data), `"member":{"id":"`+cat.ID+`","kind":"user","name":"cat"}`) {
			t.Fatalf("member_added %+v %s", ev, ev.Data)
		}
	}

	// Roles: only owners change them. Make bob an admin.
	if st, raw := f.Call(t, bob.Token, "PUT", members+"/"+bob.ID, map[string]string{"role": "owner"}); st != 403 {
		t.Fatalf("member promoting self: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "PUT", members+"/"+bob.ID, map[string]string{"role": "king"}); st != 400 {
		t.Fatalf("bad role: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "PUT", members+"/"+mine, map[string]string{"role": "admin"}); st != 403 {
		t.Fatalf("agent role: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "PUT", members+"/"+bob.ID, map[string]string{"role": "admin"}); st != 200 {
		t.Fatalf("promote bob: %d %s", st, raw)
	}
	// An admin adds and removes members but cannot remove the owner.
	if st, raw := f.Call(t, bob.Token, "DELETE", members+"/"+ada.ID, nil); st != 403 {
		t.Fatalf("admin removing owner: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, cat.Token, "DELETE", members+"/"+mine, nil); st != 403 {
		t.Fatalf("member removing an agent: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, eve.Token, "DELETE", members+"/"+cat.ID, nil); st != 404 {
		t.Fatalf("outsider removing: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, bob.Token, "DELETE", members+"/nobody", nil); st != 404 {
		t.Fatalf("removing unknown: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, bob.Token, "DELETE", members+"/"+mine, nil); st != 204 {
		t.Fatalf("admin removing agent: %d %s", st, raw)
	}
	for _, hear := range []func() events.Event{bobHears, catHears} {
		if ev := hear(); ev.Type != events.MemberRemoved || string(ev.Data) != `{"memberId":"`+mine+`","kind":"agent"}` {
			t.Fatalf("member_removed %+v %s", ev, ev.Data)
		}
	}
	// Leaving: anyone may, and the removed user hears it too.
	if st, raw := f.Call(t, cat.Token, "DELETE", members+"/"+cat.ID, nil); st != 204 {
		t.Fatalf("cat leaving: %d: %s", st, raw)
	}
	if ev := catHears(); ev.Type != events.MemberRemoved || !strings.Contains(string(ev.Data), cat.ID) {
		t.Fatalf("cat heard %+v", ev)
	}
	bobHears()
	if st, raw := f.Call(t, cat.Token, "GET", members, nil); st != 404 {
		t.Fatalf("former member reads members: %d: %s", st, raw)
	}
	// The last owner cannot leave, nor step down, before handing over.
	if st, raw := f.Call(t, ada.Token, "DELETE", members+"/"+ada.ID, nil); st != 409 {
		t.Fatalf("last owner leaving: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "PUT", members+"/"+ada.ID, map[string]string{"role": "member"}); st != 409 {
		t.Fatalf("last owner stepping down: %d: %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "PUT", members+"/"+bob.ID, map[string]string{"role": "owner"}); st != 200 {
		t.Fatalf("hand over: %d %s", st, raw)
	}
	if st, raw := f.Call(t, ada.Token, "DELETE", members+"/"+ada.ID, nil); st != 204 {
		t.Fatalf("owner leaving after handing over: %d %s", st, raw)
	}
	want = map[string]string{bob.ID: "user:owner", public: "agent:member"}
	if got := memberIDs(t, f, bob.Token, g.ID); !sameMap(got, want) {
		t.Fatalf("members %v, want %v", got, want)
	}
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestCreateValidation(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	eve := testenv.NewUser(t, f.DB, "eve")
	private := apitest.Agent(t, f.DB, eve.ID, "Hidden", "private")
	for _, c := range []struct {
		body  any
		st    int
		field string
	}{
		{map[string]any{"title": ""}, 400, "title"},
		{map[string]any{"title": strings.Repeat("x", 201)}, 400, "title"},
		{map[string]any{"title": "t", "userIds": []string{"a", "a"}}, 400, "userIds"},
		{map[string]any{"title": "t", "agentIds": make([]string, 21)}, 400, "agentIds"},
		{map[string]any{"title": "t", "userIds": []string{""}}, 400, "userIds"},
		{map[string]any{"title": "t", "extra": 1}, 400, "extra"},
		{map[string]any{"title": "t", "agentIds": []string{private}}, 404, ""},
		{map[string]any{"title": "t", "userIds": []string{"ghost"}}, 404, ""},
	} {
		st, raw := f.Call(t, ada.Token, "POST", "/api/groups", c.body)
		if st != c.st {
			t.Errorf("%v: %d %s", c.body, st, raw)
			continue
		}
		if c.field != "" {
			if e := apitest.Decode[apitest.ErrorBody](t, raw); e.Error.Fields[c.field] == "" {
				t.Errorf("%v: %s does not name %s", c.body, raw, c.field)
			}
		}
	}
	// A refused create leaves nothing behind.
	var n int
	if err := f.DB.Pool.QueryRow(context.Background(), `select count(*) from conversations where created_by = $1`, ada.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d conversations left by refused creates (%v)", n, err)
	}
	// A direct conversation is not a group.
	direct := apitest.Conversation(t, f.DB, "direct", ada.ID)
	if st, raw := f.Call(t, ada.Token, "GET", "/api/groups/"+direct+"/members", nil); st != 404 {
		t.Fatalf("direct conversation as a group: %d: %s", st, raw)
	}
}

func TestRoutesNeedSignIn(t *testing.T) {
	f := setup(t)
	for _, p := range New(Deps{DB: f.DB}).Patterns() {
		method, path := httpx.SplitPattern(p)
		path = strings.NewReplacer("{id}", "x", "{memberId}", "y").Replace(path)
		if st, raw := f.Call(t, "", method, path, map[string]string{}); st != http.StatusUnauthorized {
			t.Errorf("%s: %d without a session: %s", p, st, raw)
		}
	}
}
