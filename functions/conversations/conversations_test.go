package conversations

import (
	"bytes"
	"context"
	"fmt"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func newAgent(t *testing.T, db *store.DB, ownerID, name, visibility string) ari.Agent {
	t.Helper()
	_, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAgent(context.Background(), ownerID, store.AgentFields{Name: &name, Visibility: &visibility}, nil, hash, hint)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// addMember puts a user into a conversation with a role, as groups would.
func addMember(t *testing.T, db *store.DB, convID, userID, role string) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `insert into conversation_members (conversation_id, user_id, role)
		values ($1, $2, $3)`, convID, userID, role); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, f *apitest.Env, token, agentID, title string) ari.Conversation {
	t.Helper()
	return apitest.Decode[ari.Conversation](t, f.Must(t, 201, token, "POST", "/api/conversations",
		CreateConversationRequest{AgentID: agentID, Title: title}))
}

func TestCreateConversation(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "starter")
	dev := testenv.NewUser(t, f.DB, "developer")
	mine := newAgent(t, f.DB, u.ID, "My Bot", ari.VisibilityPrivate)
	public := newAgent(t, f.DB, dev.ID, "Public Bot", ari.VisibilityPublic)
	private := newAgent(t, f.DB, dev.ID, "Private Bot", ari.VisibilityPrivate)

	ps := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(u.ID))
	c := start(t, f, u.Token, mine.ID, "  Plans  ")
	if c.Kind != ari.KindDirect || c.Title != "Plans" || c.Role != "owner" || c.LastSeq != 0 || c.UnreadCount != 0 ||
		c.LastMessage != nil || c.Streaming || len(c.Agents) != 1 || c.Agents[0].ID != mine.ID || c.Agents[0].Handle != "my-bot" {
		t.Fatalf("created = %+v", c)
	}
	ev := apitest.NextEvent(t, ps)
	if ev.Type != events.ConversationCreated || ev.ConversationID != c.ID ||
		apitest.Decode[ConversationEventData](t, ev.Data).Conversation.ID != c.ID {
		t.Fatalf("event = %+v %s", ev, ev.Data)
	}
	// Anyone signed in may talk to a public agent; a private foreign one is 404.
	if pc := start(t, f, u.Token, public.ID, ""); pc.Agents[0].ID != public.ID {
		t.Fatalf("public = %+v", pc)
	}
	for _, id := range []string{private.ID, "nope"} {
		status, raw := f.Call(t, u.Token, "POST", "/api/conversations", CreateConversationRequest{AgentID: id})
		if status != 404 || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != "not_found" {
			t.Fatalf("agent %s: %d %s", id, status, raw)
		}
	}
	for _, bad := range []any{CreateConversationRequest{}, CreateConversationRequest{AgentID: mine.ID, Title: strings.Repeat("t", 201)},
		`{"agentId":"` + mine.ID + `","kind":"group"}`, `{"agentId":7}`} {
		if status, raw := f.Call(t, u.Token, "POST", "/api/conversations", bad); status != 400 {
			t.Fatalf("%v: %d %s", bad, status, raw)
		}
	}
	list := apitest.Decode[httpx.Page[ari.Conversation]](t, f.Must(t, 200, u.Token, "GET", "/api/conversations", nil))
	if len(list.Items) != 2 {
		t.Fatalf("list has %d, want 2 (refused requests must create nothing)", len(list.Items))
	}
}

func TestListShowsPreviewUnreadMutedStreaming(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "lister")
	a := newAgent(t, f.DB, u.ID, "Lister Bot", ari.VisibilityPrivate)
	quiet := start(t, f, u.Token, a.ID, "quiet")
	busy := start(t, f, u.Token, a.ID, "busy")
	now := time.Now()
	apitest.SeedMessage(t, f.DB, quiet.ID, ari.RoleUser, &u.ID, nil, "hello", ari.StatusComplete, now, nil, nil)
	apitest.SeedMessage(t, f.DB, quiet.ID, ari.RoleAgent, nil, &a.ID, strings.Repeat("ab", 100), ari.StatusComplete, now.Add(time.Second), nil, nil)
	reply := apitest.SeedMessage(t, f.DB, busy.ID, ari.RoleUser, &u.ID, nil, "go", ari.StatusComplete, now.Add(2*time.Second), nil, nil)
	ctx := context.Background()
	if err := f.Redis.Set(ctx, f.Keys.ConvActive(busy.ID), reply, kv.ActiveTTL).Err(); err != nil {
		t.Fatal(err)
	}
	if got := apitest.Decode[MuteResponse](t, f.Must(t, 200, u.Token, "POST", "/api/conversations/"+quiet.ID+"/mute", nil)); !got.Muted {
		t.Fatal("mute did not mute")
	}
	list := apitest.Decode[httpx.Page[ari.Conversation]](t, f.Must(t, 200, u.Token, "GET", "/api/conversations", nil))
	if len(list.Items) != 2 || list.Items[0].ID != busy.ID || list.Items[1].ID != quiet.ID {
		t.Fatalf("order = %+v", list.Items)
	}
	b, q := list.Items[0], list.Items[1]
	if !b.Streaming || b.Muted || b.UnreadCount != 0 || b.LastMessage.Content != "go" {
		t.Fatalf("busy = %+v", b)
	}
	if q.Streaming || !q.Muted || q.UnreadCount != 1 || len(q.LastMessage.Content) != ari.PreviewLength || q.LastSeq != 2 {
		t.Fatalf("quiet = %+v (preview %d chars)", q, len(q.LastMessage.Content))
	}
	if got := apitest.Decode[MuteResponse](t, f.Must(t, 200, u.Token, "POST", "/api/conversations/"+quiet.ID+"/mute", nil)); got.Muted {
		t.Fatal("second mute did not unmute")
	}
	one := apitest.Decode[ari.Conversation](t, f.Must(t, 200, u.Token, "GET", "/api/conversations/"+busy.ID, nil))
	if !one.Streaming || one.ID != busy.ID {
		t.Fatalf("get = %+v", one)
	}
}

func TestListPagination(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "pager")
	a := newAgent(t, f.DB, u.ID, "Pager", ari.VisibilityPrivate)
	var want []string
	for i := range 7 {
		want = append([]string{start(t, f, u.Token, a.ID, fmt.Sprint(i)).ID}, want...)
	}
	var seen []string
	path := "/api/conversations?limit=3"
	for range 5 {
		p := apitest.Decode[httpx.Page[ari.Conversation]](t, f.Must(t, 200, u.Token, "GET", path, nil))
		for _, c := range p.Items {
			seen = append(seen, c.ID)
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/conversations?limit=3&cursor=" + *p.NextCursor
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages %v, want %v", seen, want)
	}
	for _, q := range []string{"?cursor=@@@", "?cursor=" + httpx.EncodeCursor(42), "?limit=0", "?limit=1000"} {
		if status, raw := f.Call(t, u.Token, "GET", "/api/conversations"+q, nil); status != 400 {
			t.Errorf("%s: %d %s", q, status, raw)
		}
	}
}

func TestRenameTellsMembers(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "renamer")
	member := testenv.NewUser(t, f.DB, "member")
	a := newAgent(t, f.DB, owner.ID, "Namer", ari.VisibilityPrivate)
	c := start(t, f, owner.Token, a.ID, "old")
	addMember(t, f.DB, c.ID, member.ID, "member")
	psOwner := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(owner.ID))
	psMember := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(member.ID))
	got := apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "PUT", "/api/conversations/"+c.ID, UpdateConversationRequest{Title: apitest.Ptr("new")}))
	if got.Title != "new" {
		t.Fatalf("renamed = %+v", got)
	}
	for name, ev := range map[string]events.Event{"owner": apitest.NextEvent(t, psOwner), "member": apitest.NextEvent(t, psMember)} {
		d := apitest.Decode[ConversationEventData](t, ev.Data)
		if ev.Type != events.ConversationUpdated || ev.ConversationID != c.ID || d.Conversation.Title != "new" || d.Conversation.Kind != "direct" {
			t.Fatalf("%s got %+v %s", name, ev, ev.Data)
		}
	}
	// A plain member may not rename: visible, not theirs to change.
	if status, raw := f.Call(t, member.Token, "PUT", "/api/conversations/"+c.ID, UpdateConversationRequest{Title: apitest.Ptr("mine")}); status != 403 {
		t.Fatalf("member rename: %d %s", status, raw)
	}
	if status, raw := f.Call(t, owner.Token, "PUT", "/api/conversations/"+c.ID, UpdateConversationRequest{Title: apitest.Ptr(strings.Repeat("x", 201))}); status != 400 ||
		apitest.Decode[apitest.ErrorBody](t, raw).Error.Fields["title"] == "" {
		t.Fatalf("long title: %d %s", status, raw)
	}
	if got := apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "GET", "/api/conversations/"+c.ID, nil)); got.Title != "new" {
		t.Fatalf("title after refused changes = %q", got.Title)
	}
}

func TestTurnPolicySetting(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "policy owner")
	member := testenv.NewUser(t, f.DB, "policy member")
	a := newAgent(t, f.DB, owner.ID, "Policy", ari.VisibilityPrivate)
	c := start(t, f, owner.Token, a.ID, "kept")
	if c.TurnPolicy != ari.TurnQueue {
		t.Fatalf("default turn policy = %q", c.TurnPolicy)
	}
	addMember(t, f.DB, c.ID, member.ID, "member")
	ps := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(member.ID))
	got := apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "PUT", "/api/conversations/"+c.ID,
		UpdateConversationRequest{TurnPolicy: apitest.Ptr(ari.TurnInterrupt)}))
	if got.TurnPolicy != ari.TurnInterrupt || got.Title != "kept" {
		t.Fatalf("after PUT turnPolicy: %+v", got)
	}
	ev := apitest.NextEvent(t, ps)
	if d := apitest.Decode[ConversationEventData](t, ev.Data); ev.Type != events.ConversationUpdated || d.Conversation.TurnPolicy != ari.TurnInterrupt {
		t.Fatalf("member got %+v %s", ev, ev.Data)
	}
	// Who may change it: owners and admins, as for the title.
	if status, raw := f.Call(t, member.Token, "PUT", "/api/conversations/"+c.ID, UpdateConversationRequest{TurnPolicy: apitest.Ptr(ari.TurnReject)}); status != 403 {
		t.Fatalf("member sets policy: %d %s", status, raw)
	}
	for _, body := range []any{map[string]any{"turnPolicy": "later"}, map[string]any{"turnPolicy": "QUEUE"}, map[string]any{"turnPolicy": 1},
		map[string]any{"turnPolicy": ""}, map[string]any{}} {
		status, raw := f.Call(t, owner.Token, "PUT", "/api/conversations/"+c.ID, body)
		if status != 400 {
			t.Fatalf("%v: %d %s", body, status, raw)
		}
	}
	got = apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "GET", "/api/conversations/"+c.ID, nil))
	if got.TurnPolicy != ari.TurnInterrupt || got.Title != "kept" {
		t.Fatalf("after refused changes: %+v", got)
	}
	got = apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "PUT", "/api/conversations/"+c.ID,
		map[string]any{"title": "", "turnPolicy": ari.TurnReject}))
	if got.TurnPolicy != ari.TurnReject || got.Title != "" {
		t.Fatalf("both: %+v", got)
	}
}

// The agent chain budget (relay/PROTOCOL.md section 13) is a setting like
// the turn policy: 4 by default, 0 to 16, owners and admins only, in
// conversation_updated.
func TestChainHopsSetting(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "chain owner")
	member := testenv.NewUser(t, f.DB, "chain member")
	a := newAgent(t, f.DB, owner.ID, "Chainer", ari.VisibilityPrivate)
	c := start(t, f, owner.Token, a.ID, "kept")
	if c.ChainHops != ari.DefaultChainHops {
		t.Fatalf("default chain hops = %d", c.ChainHops)
	}
	addMember(t, f.DB, c.ID, member.ID, "member")
	ps := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(member.ID))
	got := apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "PUT", "/api/conversations/"+c.ID,
		map[string]any{"chainHops": 16}))
	if got.ChainHops != 16 || got.TurnPolicy != ari.TurnQueue || got.Title != "kept" {
		t.Fatalf("after PUT chainHops: %+v", got)
	}
	ev := apitest.NextEvent(t, ps)
	if d := apitest.Decode[ConversationEventData](t, ev.Data); ev.Type != events.ConversationUpdated || d.Conversation.ChainHops != 16 {
		t.Fatalf("member got %+v %s", ev, ev.Data)
	}
	if status, raw := f.Call(t, member.Token, "PUT", "/api/conversations/"+c.ID, map[string]any{"chainHops": 1}); status != 403 {
		t.Fatalf("member sets chainHops: %d %s", status, raw)
	}
	for _, body := range []any{map[string]any{"chainHops": 17}, map[string]any{"chainHops": -1}, map[string]any{"chainHops": "4"},
		map[string]any{"chainHops": 1.5}, map[string]any{"chainHops": 2, "turnPolicy": "later"}} {
		if status, raw := f.Call(t, owner.Token, "PUT", "/api/conversations/"+c.ID, body); status != 400 {
			t.Fatalf("%v: %d %s", body, status, raw)
		}
	}
	got = apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "PUT", "/api/conversations/"+c.ID, map[string]any{"chainHops": 0}))
	if got.ChainHops != 0 {
		t.Fatalf("chainHops 0: %+v", got)
	}
}

func TestReadMarks(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "reader")
	other := testenv.NewUser(t, f.DB, "co-reader")
	a := newAgent(t, f.DB, u.ID, "Reader", ari.VisibilityPrivate)
	c := start(t, f, u.Token, a.ID, "")
	addMember(t, f.DB, c.ID, other.ID, "member")
	for i := range 5 {
		apitest.SeedMessage(t, f.DB, c.ID, ari.RoleAgent, nil, &a.ID, fmt.Sprint("m", i), ari.StatusComplete, time.Now(), nil, nil)
	}
	psMe := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(u.ID))
	psOther := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(other.ID))
	path := "/api/conversations/" + c.ID + "/read"
	if got := apitest.Decode[ReadResponse](t, f.Must(t, 200, u.Token, "POST", path, ReadRequest{Seq: apitest.Ptr[int64](3)})); got.LastReadSeq != 3 {
		t.Fatalf("read 3 = %+v", got)
	}
	ev := apitest.NextEvent(t, psMe)
	if d := apitest.Decode[ReadUpdatedData](t, ev.Data); ev.Type != events.ReadUpdated || d.Seq != 3 || d.UserID != u.ID || ev.ConversationID != c.ID {
		t.Fatalf("event = %+v %s", ev, ev.Data)
	}
	// Backwards is a no-op answered with the stored mark, and tells no one.
	if got := apitest.Decode[ReadResponse](t, f.Must(t, 200, u.Token, "POST", path, ReadRequest{Seq: apitest.Ptr[int64](1)})); got.LastReadSeq != 3 {
		t.Fatalf("read 1 after 3 = %+v", got)
	}
	for _, bad := range []any{ReadRequest{Seq: apitest.Ptr[int64](6)}, ReadRequest{Seq: apitest.Ptr[int64](-1)}, `{}`, `{"seq":"3"}`} {
		if status, raw := f.Call(t, u.Token, "POST", path, bad); status != 400 {
			t.Fatalf("%v: %d %s", bad, status, raw)
		}
	}
	f.Must(t, 200, u.Token, "POST", path, ReadRequest{Seq: apitest.Ptr[int64](5)})
	if ev := apitest.NextEvent(t, psMe); apitest.Decode[ReadUpdatedData](t, ev.Data).Seq != 5 {
		t.Fatalf("second event = %s (the no-op read must not publish)", ev.Data)
	}
	if msg, err := psOther.ReceiveTimeout(context.Background(), 200*time.Millisecond); err == nil {
		t.Fatalf("another member was told of my read mark: %v", msg)
	}
	got := apitest.Decode[ari.Conversation](t, f.Must(t, 200, u.Token, "GET", "/api/conversations/"+c.ID, nil))
	if got.LastReadSeq != 5 || got.UnreadCount != 0 {
		t.Fatalf("after reading = %+v", got)
	}
}

func TestStatus(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "watcher")
	a := newAgent(t, f.DB, u.ID, "Watched", ari.VisibilityPrivate)
	c := start(t, f, u.Token, a.ID, "")
	path := "/api/conversations/" + c.ID + "/status"
	idle := apitest.Decode[StatusResponse](t, f.Must(t, 200, u.Token, "GET", path, nil))
	if idle.Streaming || idle.ActiveMessageID != nil || idle.Queued != 0 || idle.AgentOnline ||
		len(idle.Agents) != 1 || idle.Agents[0].ID != a.ID || idle.Agents[0].Online {
		t.Fatalf("idle = %+v", idle)
	}
	ctx := context.Background()
	f.Redis.Set(ctx, f.Keys.ConvActive(c.ID), "msg-7", kv.ActiveTTL)
	f.Redis.RPush(ctx, f.Keys.ConvQueue(c.ID), "q1", "q2")
	f.Redis.Set(ctx, f.Keys.AgentPresence(a.ID), "relay-2", kv.PresenceTTL)
	busy := apitest.Decode[StatusResponse](t, f.Must(t, 200, u.Token, "GET", path, nil))
	if !busy.Streaming || busy.ActiveMessageID == nil || *busy.ActiveMessageID != "msg-7" || busy.Queued != 2 ||
		!busy.AgentOnline || !busy.Agents[0].Online {
		t.Fatalf("busy = %+v", busy)
	}
	// Without a socket, an agent with an A2A endpoint is online too: the
	// relay would call it.
	f.Redis.Del(ctx, f.Keys.AgentPresence(a.ID))
	if got := apitest.Decode[StatusResponse](t, f.Must(t, 200, u.Token, "GET", path, nil)); got.AgentOnline || got.Agents[0].Online {
		t.Fatalf("after the socket left = %+v", got)
	}
	if _, err := f.DB.Pool.Exec(ctx, `update agents set a2a_endpoint = 'https://agent.example/a2a' where id = $1`, a.ID); err != nil {
		t.Fatal(err)
	}
	if got := apitest.Decode[StatusResponse](t, f.Must(t, 200, u.Token, "GET", path, nil)); !got.AgentOnline || !got.Agents[0].Online {
		t.Fatalf("with an A2A endpoint = %+v", got)
	}
	// Someone else's conversation: 404, nothing about its agents.
	other := testenv.NewUser(t, f.DB, "outsider")
	f.Must(t, 404, other.Token, "GET", path, nil)
}

func TestDeleteByOwnerAndLeaveByMember(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "owner")
	member := testenv.NewUser(t, f.DB, "leaver")
	a := newAgent(t, f.DB, owner.ID, "Shared", ari.VisibilityPrivate)
	c := start(t, f, owner.Token, a.ID, "")
	addMember(t, f.DB, c.ID, member.ID, "member")
	psOwner := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(owner.ID))
	psMember := apitest.Subscribe(t, f.Redis, f.Keys.UserChannel(member.ID))

	// The member leaves: both are told; the owner keeps the conversation.
	f.Must(t, 204, member.Token, "DELETE", "/api/conversations/"+c.ID, nil)
	for _, ev := range []events.Event{apitest.NextEvent(t, psOwner), apitest.NextEvent(t, psMember)} {
		d := apitest.Decode[MemberRemovedData](t, ev.Data)
		if ev.Type != events.MemberRemoved || d.MemberID != member.ID || d.Kind != "user" || ev.ConversationID != c.ID {
			t.Fatalf("leave event = %+v %s", ev, ev.Data)
		}
	}
	f.Must(t, 404, member.Token, "GET", "/api/conversations/"+c.ID, nil)
	f.Must(t, 200, owner.Token, "GET", "/api/conversations/"+c.ID, nil)

	// The owner deletes: gone for everyone, everyone told.
	addMember(t, f.DB, c.ID, member.ID, "admin")
	f.Must(t, 204, owner.Token, "DELETE", "/api/conversations/"+c.ID, nil)
	for _, ev := range []events.Event{apitest.NextEvent(t, psOwner), apitest.NextEvent(t, psMember)} {
		if ev.Type != events.ConversationDeleted || apitest.Decode[ConversationDeletedData](t, ev.Data).ConversationID != c.ID {
			t.Fatalf("delete event = %+v %s", ev, ev.Data)
		}
	}
	f.Must(t, 404, owner.Token, "GET", "/api/conversations/"+c.ID, nil)
	f.Must(t, 404, member.Token, "GET", "/api/conversations/"+c.ID, nil)
	var n int
	if err := f.DB.Pool.QueryRow(context.Background(), `select count(*) from conversations where id = $1`, c.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("conversation rows left: %d %v", n, err)
	}
}

// TestAuthorizationMatrix walks every route: without a session 401; for a
// conversation the caller is not in, and for an unknown id, 404 — the body
// never matters and nothing changes.
func TestAuthorizationMatrix(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "matrix-owner")
	stranger := testenv.NewUser(t, f.DB, "matrix-stranger")
	a := newAgent(t, f.DB, owner.ID, "Matrix", ari.VisibilityPublic)
	c := start(t, f, owner.Token, a.ID, "secret title")
	apitest.SeedMessage(t, f.DB, c.ID, ari.RoleUser, &owner.ID, nil, "private words", ari.StatusComplete, time.Now(), nil, nil)

	routes := []struct {
		pattern string
		body    any
	}{
		{"POST /api/conversations", CreateConversationRequest{AgentID: a.ID}},
		{"GET /api/conversations", nil},
		{"GET /api/conversations/{id}", nil},
		{"PUT /api/conversations/{id}", UpdateConversationRequest{Title: apitest.Ptr("hijacked")}},
		{"DELETE /api/conversations/{id}", nil},
		{"POST /api/conversations/{id}/read", ReadRequest{Seq: apitest.Ptr[int64](1)}},
		{"POST /api/conversations/{id}/mute", nil},
		{"GET /api/conversations/{id}/status", nil},
		{"GET /api/conversations/{id}/input-requests", nil},
		{"GET /api/input-requests", nil},
		{"POST /api/input-requests/{id}/answer", AnswerRequest{Approved: apitest.Ptr(true)}},
	}
	var covered []string
	for _, r := range routes {
		covered = append(covered, r.pattern)
		method, path := httpx.SplitPattern(r.pattern)
		at := func(id string) string { return strings.ReplaceAll(path, "{id}", id) }
		if status, _ := f.Call(t, "", method, at(c.ID), r.body); status != 401 {
			t.Errorf("%s without session: %d", r.pattern, status)
		}
		if !strings.Contains(path, "{id}") {
			continue
		}
		for _, id := range []string{c.ID, "00000000-0000-0000-0000-000000000000", "x'; drop table messages; --"} {
			status, raw := f.Call(t, stranger.Token, method, at(strings.ReplaceAll(id, " ", "%20")), r.body)
			if status != 404 || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != "not_found" {
				t.Errorf("%s as stranger on %q: %d %s", r.pattern, id, status, raw)
			}
			if bytes.Contains(raw, []byte("secret title")) || bytes.Contains(raw, []byte("private words")) {
				t.Errorf("%s leaks: %s", r.pattern, raw)
			}
		}
	}
	served := New(Deps{Auth: f.Auth}).Patterns()
	slices.Sort(covered)
	if !slices.Equal(served, covered) {
		t.Fatalf("matrix covers %v\nrouter serves %v", covered, served)
	}
	// The stranger's list is empty and the owner's conversation is untouched.
	if l := apitest.Decode[httpx.Page[ari.Conversation]](t, f.Must(t, 200, stranger.Token, "GET", "/api/conversations", nil)); len(l.Items) != 0 {
		t.Fatalf("stranger's list = %+v", l.Items)
	}
	got := apitest.Decode[ari.Conversation](t, f.Must(t, 200, owner.Token, "GET", "/api/conversations/"+c.ID, nil))
	if got.Title != "secret title" || got.Muted || got.LastSeq != 1 {
		t.Fatalf("owner's conversation changed: %+v", got)
	}
}
