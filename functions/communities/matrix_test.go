package communities

import (
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// standing is the expected status for each caller: owner, admin, member,
// outsider, banned.
type standing [5]int

// matrixRow is one route: path and body are built per call in a fresh
// world, so no call sees another's changes. public and private are the
// expectations in a community of each visibility.
type matrixRow struct {
	pattern         string
	call            func(t *testing.T, f *apitest.Env, w world) (path string, body any)
	public, private standing
}

// memberOnly: members read; outsiders and the banned get 403 in a public
// community and 404 in a private one.
func memberOnly(owner, admin, member int) (standing, standing) {
	return standing{owner, admin, member, 403, 403}, standing{owner, admin, member, 404, 404}
}

func row(pattern string, call func(t *testing.T, f *apitest.Env, w world) (string, any), pub, priv standing) matrixRow {
	return matrixRow{pattern, call, pub, priv}
}

func path(p string) func(*testing.T, *apitest.Env, world) (string, any) {
	return func(_ *testing.T, _ *apitest.Env, w world) (string, any) {
		return strings.ReplaceAll(p, "{id}", w.id), nil
	}
}

// TestAuthorizationMatrix walks every route as the owner, an admin, a
// member, an outsider, a banned user and signed out, in a public and in a
// private community. It fails when a route is added without a row here.
func TestAuthorizationMatrix(t *testing.T) {
	f := setup(t)
	same := func(s standing) (standing, standing) { return s, s }
	var rows []matrixRow
	add := func(pattern string, call func(*testing.T, *apitest.Env, world) (string, any), pub, priv standing) {
		rows = append(rows, row(pattern, call, pub, priv))
	}
	{
		p, v := same(standing{201, 201, 201, 201, 201})
		add("POST /api/communities", func(*testing.T, *apitest.Env, world) (string, any) {
			return "/api/communities", map[string]string{"name": "New", "slug": "n-" + strings.ToLower(testenv.RandomID(8))}
		}, p, v)
	}
	{
		p, v := same(standing{200, 200, 200, 200, 200})
		add("GET /api/communities", path("/api/communities?q=world"), p, v)
		add("GET /api/communities/joined", path("/api/communities/joined"), p, v)
	}
	add("GET /api/communities/{id}", path("/api/communities/{id}"), standing{200, 200, 200, 200, 200}, standing{200, 200, 200, 404, 404})
	{
		p, v := memberOnly(200, 200, 403)
		add("PUT /api/communities/{id}", func(_ *testing.T, _ *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id, map[string]string{"description": "changed"}
		}, p, v)
	}
	{
		p, v := memberOnly(204, 403, 403)
		add("DELETE /api/communities/{id}", path("/api/communities/{id}"), p, v)
	}
	add("POST /api/communities/{id}/join", path("/api/communities/{id}/join"), standing{409, 409, 409, 200, 403}, standing{409, 409, 409, 404, 404})
	{
		p, v := memberOnly(409, 204, 204)
		add("POST /api/communities/{id}/leave", path("/api/communities/{id}/leave"), p, v)
	}
	{
		p, v := memberOnly(200, 200, 200)
		add("GET /api/communities/{id}/members", path("/api/communities/{id}/members"), p, v)
		add("GET /api/communities/{id}/agents", path("/api/communities/{id}/agents"), p, v)
	}
	{
		p, v := memberOnly(200, 403, 403)
		add("PUT /api/communities/{id}/members/{memberId}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/members/" + w.fresh(t, f).ID, map[string]string{"role": "admin"}
		}, p, v)
	}
	{
		p, v := memberOnly(204, 204, 403)
		add("DELETE /api/communities/{id}/members/{memberId}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/members/" + w.fresh(t, f).ID, nil
		}, p, v)
		add("DELETE /api/communities/{id}/bans/{userId}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/bans/" + w.banned.ID, nil
		}, p, v)
		add("DELETE /api/communities/{id}/invites/{inviteId}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			inv, err := f.DB.CreateInvite(t.Context(), w.owner.ID, w.id, store.NewInvite{Code: testenv.RandomID(20)})
			if err != nil {
				t.Fatal(err)
			}
			return "/api/communities/" + w.id + "/invites/" + inv.ID, nil
		}, p, v)
		add("DELETE /api/communities/{id}/agents/{agentId}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			a := apitest.Agent(t, f.DB, w.owner.ID, "bot"+testenv.RandomID(4), "public")
			if _, err := f.DB.AddCommunityAgent(t.Context(), w.owner.ID, w.id, a); err != nil {
				t.Fatal(err)
			}
			return "/api/communities/" + w.id + "/agents/" + a, nil
		}, p, v)
	}
	{
		p, v := memberOnly(200, 200, 403)
		add("GET /api/communities/{id}/bans", path("/api/communities/{id}/bans"), p, v)
		add("GET /api/communities/{id}/invites", path("/api/communities/{id}/invites"), p, v)
	}
	{
		p, v := memberOnly(201, 201, 403)
		add("POST /api/communities/{id}/bans", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/bans", map[string]string{"userId": w.fresh(t, f).ID}
		}, p, v)
		add("POST /api/communities/{id}/invites", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/invites", map[string]int{"maxUses": 3}
		}, p, v)
		add("POST /api/communities/{id}/agents", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/agents", map[string]string{"agentId": apitest.Agent(t, f.DB, w.outsider.ID, "pub"+testenv.RandomID(4), "public")}
		}, p, v)
	}
	invite := func(t *testing.T, f *apitest.Env, w world) string {
		inv, err := f.DB.CreateInvite(t.Context(), w.owner.ID, w.id, store.NewInvite{Code: testenv.RandomID(20)})
		if err != nil {
			t.Fatal(err)
		}
		return inv.Code
	}
	{
		p, v := same(standing{200, 200, 200, 200, 200})
		add("GET /api/invites/{code}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/invites/" + invite(t, f, w), nil
		}, p, v)
		p, v = same(standing{409, 409, 409, 200, 403})
		add("POST /api/invites/{code}/accept", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/invites/" + invite(t, f, w) + "/accept", nil
		}, p, v)
	}
	channelRows(t, f, add)

	var covered []string
	for _, r := range rows {
		covered = append(covered, r.pattern)
		method, _, _ := strings.Cut(r.pattern, " ")
		for _, vis := range []string{store.VisibilityPublic, store.VisibilityPrivate} {
			want := r.public
			if vis == store.VisibilityPrivate {
				want = r.private
			}
			for i, name := range []string{"owner", "admin", "member", "outsider", "banned"} {
				w := newWorld(t, f, vis)
				who := []testenv.TestUser{w.owner, w.admin, w.member, w.outsider, w.banned}[i]
				p, body := r.call(t, f, w)
				if st, raw := f.Call(t, who.Token, method, p, body); st != want[i] {
					t.Errorf("%s in a %s community as %s: %d, want %d: %s", r.pattern, vis, name, st, want[i], raw)
				}
			}
			w := newWorld(t, f, vis)
			p, body := r.call(t, f, w)
			if st, raw := f.Call(t, "", method, p, body); st != 401 {
				t.Errorf("%s signed out: %d, want 401: %s", r.pattern, st, raw)
			}
		}
	}
	slices.Sort(covered)
	if routes := New(Deps{DB: f.DB, Auth: f.Auth}).Patterns(); !slices.Equal(routes, covered) {
		t.Fatalf("matrix covers %v, the router serves %v", covered, routes)
	}
}

// channelRows adds the rows of the channel and message routes.
func channelRows(t *testing.T, f *apitest.Env, add func(string, func(*testing.T, *apitest.Env, world) (string, any), standing, standing)) {
	general := func(t *testing.T, f *apitest.Env, w world) string {
		var id string
		if err := f.DB.Pool.QueryRow(t.Context(), `select id from channels where community_id = $1`, w.id).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	post := func(t *testing.T, f *apitest.Env, w world, ch string) string {
		s, err := f.DB.SendChannelMessage(t.Context(), store.NewChannelMessage{UserID: w.owner.ID, ChannelID: ch, Content: "hello", ClientMessageID: testenv.RandomID(8)})
		if err != nil {
			t.Fatal(err)
		}
		return s.Message.ID
	}
	ch := func(suffix string, body func(t *testing.T, f *apitest.Env, w world) any) func(*testing.T, *apitest.Env, world) (string, any) {
		return func(t *testing.T, f *apitest.Env, w world) (string, any) {
			c := general(t, f, w)
			var b any
			if body != nil {
				b = body(t, f, w)
			}
			return "/api/channels/" + c + suffix, b
		}
	}
	msg := func(suffix string, body any) func(*testing.T, *apitest.Env, world) (string, any) {
		return func(t *testing.T, f *apitest.Env, w world) (string, any) {
			c := general(t, f, w)
			return "/api/channels/" + c + "/messages/" + post(t, f, w, c) + suffix, body
		}
	}
	{
		p, v := memberOnly(200, 200, 200)
		add("GET /api/communities/{id}/channels", path("/api/communities/{id}/channels"), p, v)
		add("GET /api/communities/{id}/messages/search", path("/api/communities/{id}/messages/search?q=hello"), p, v)
		add("GET /api/channels/{id}", ch("", nil), p, v)
		add("POST /api/channels/{id}/read", ch("/read", func(*testing.T, *apitest.Env, world) any { return map[string]int{"seq": 1} }), p, v)
		add("PUT /api/channels/{id}/mute", ch("/mute", func(*testing.T, *apitest.Env, world) any { return map[string]bool{"muted": true} }), p, v)
		add("PUT /api/communities/{id}/mute", func(_ *testing.T, _ *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/mute", map[string]bool{"muted": true}
		}, p, v)
		add("GET /api/channels/{id}/messages", ch("/messages", nil), p, v)
		add("GET /api/channels/{id}/messages/{messageId}/reactions", msg("/reactions", nil), p, v)
	}
	{
		p, v := memberOnly(201, 201, 201)
		add("POST /api/channels/{id}/messages", ch("/messages", func(*testing.T, *apitest.Env, world) any {
			return map[string]string{"clientMessageId": testenv.RandomID(8), "content": "hi"}
		}), p, v)
		add("POST /api/channels/{id}/messages/{messageId}/reactions", msg("/reactions", map[string]string{"emoji": "👍"}), p, v)
	}
	{
		p, v := memberOnly(204, 204, 204)
		add("DELETE /api/channels/{id}/messages/{messageId}/reactions/{emoji}", msg("/reactions/👍", nil), p, v)
	}
	{
		// A plain member deletes only their own; this message is the owner's.
		p, v := memberOnly(204, 204, 403)
		add("DELETE /api/channels/{id}/messages/{messageId}", msg("", nil), p, v)
		add("DELETE /api/channels/{id}", ch("", nil), p, v)
		add("DELETE /api/channels/{id}/agents/{agentId}", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			c := general(t, f, w)
			a := apitest.Agent(t, f.DB, w.owner.ID, "bot"+testenv.RandomID(4), "public")
			if _, err := f.DB.AddCommunityAgent(t.Context(), w.owner.ID, w.id, a); err != nil {
				t.Fatal(err)
			}
			if _, err := f.DB.AddChannelAgent(t.Context(), w.owner.ID, c, a); err != nil {
				t.Fatal(err)
			}
			return "/api/channels/" + c + "/agents/" + a, nil
		}, p, v)
	}
	{
		p, v := memberOnly(201, 201, 403)
		add("POST /api/communities/{id}/channels", func(_ *testing.T, _ *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/channels", map[string]string{"name": "help"}
		}, p, v)
	}
	{
		p, v := memberOnly(200, 200, 403)
		add("PUT /api/communities/{id}/channels/order", func(t *testing.T, f *apitest.Env, w world) (string, any) {
			return "/api/communities/" + w.id + "/channels/order", map[string][]string{"channelIds": {general(t, f, w)}}
		}, p, v)
		add("PUT /api/channels/{id}", ch("", func(*testing.T, *apitest.Env, world) any { return map[string]string{"topic": "new"} }), p, v)
		add("POST /api/channels/{id}/agents", ch("/agents", func(t *testing.T, f *apitest.Env, w world) any {
			a := apitest.Agent(t, f.DB, w.owner.ID, "bot"+testenv.RandomID(4), "public")
			if _, err := f.DB.AddCommunityAgent(t.Context(), w.owner.ID, w.id, a); err != nil {
				t.Fatal(err)
			}
			return map[string]string{"agentId": a}
		}), p, v)
	}
}
