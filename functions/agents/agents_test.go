package agents

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

var tokenFormat = regexp.MustCompile(`^ari_[0-9a-f]{48}$`)

func TestCreateGetList(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "creator")
	a, token := createAgent(t, f, u.Token, CreateAgentRequest{
		Name: "  Weather Bot 3000 ", Description: "forecasts", AvatarURL: apitest.Ptr("https://example.com/a.png"),
		A2AEndpoint: apitest.Ptr("https://agents.example.com/a2a"), A2AAuthHeader: apitest.Ptr("Bearer s3cret"),
		Visibility: "public", Skills: []ari.Skill{{Name: "forecast", Description: "tomorrow's weather"}},
	})
	if !tokenFormat.MatchString(token) {
		t.Fatalf("token %q is not ari_ + 48 hex", token)
	}
	if a.Name != "Weather Bot 3000" || a.Handle != "weather-bot-3000" || a.Visibility != "public" || !a.Mine ||
		a.OwnerID != u.ID || !a.A2AAuthHeaderSet || a.A2AEndpoint == nil || len(a.Skills) != 1 || a.Online {
		t.Fatalf("created = %+v", a)
	}
	if a.TokenHint != "ari_…"+token[len(token)-4:] {
		t.Fatalf("hint %q", a.TokenHint)
	}
	// The stored hash is sha256 of the token; the token itself is nowhere.
	var stored []byte
	if err := f.DB.Pool.QueryRow(context.Background(), `select token_hash from agents where id = $1`, a.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored, ari.HashAgentToken(token)) {
		t.Fatal("token_hash is not sha256(token)")
	}

	raw := f.Must(t, 200, u.Token, "GET", "/api/agents/"+a.ID, nil)
	for _, secret := range []string{token, "s3cret", hex.EncodeToString(stored), "tokenHash", "token_hash"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("GET shows %q: %s", secret, raw)
		}
	}
	got := apitest.Decode[AgentResponse](t, raw)
	if got.ID != a.ID || got.Online {
		t.Fatalf("get = %+v", got)
	}

	// Online comes from the relay's presence key.
	if err := f.Redis.Set(context.Background(), f.Keys.AgentPresence(a.ID), "relay-1", kv.PresenceTTL).Err(); err != nil {
		t.Fatal(err)
	}
	list := apitest.Decode[httpx.Page[AgentResponse]](t, f.Must(t, 200, u.Token, "GET", "/api/agents", nil))
	if len(list.Items) != 1 || !list.Items[0].Online || list.NextCursor != nil || list.PrevCursor != nil {
		t.Fatalf("list = %+v", list)
	}
}

func TestCreateValidation(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "validator")
	cases := []struct {
		body   any
		status int
		fields []string
	}{
		{CreateAgentRequest{}, 400, []string{"name"}},
		{CreateAgentRequest{Name: "!!!"}, 400, []string{"name"}},
		{CreateAgentRequest{Name: strings.Repeat("n", 101)}, 400, []string{"name"}},
		{CreateAgentRequest{Name: "ok", Description: strings.Repeat("d", 2001)}, 400, []string{"description"}},
		{CreateAgentRequest{Name: "ok", Visibility: "secret"}, 400, []string{"visibility"}},
		{CreateAgentRequest{Name: "ok", AvatarURL: apitest.Ptr("javascript:alert(1)"), A2AEndpoint: apitest.Ptr("ftp://x/y")}, 400, []string{"avatarUrl", "a2aEndpoint"}},
		{CreateAgentRequest{Name: "ok", A2AAuthHeader: apitest.Ptr("Bearer x\r\nX-Evil: 1")}, 400, []string{"a2aAuthHeader"}},
		{CreateAgentRequest{Name: "ok", Skills: []ari.Skill{{Name: "a"}, {Name: "a"}}}, 400, []string{"skills[1].name"}},
		{`{"name":"ok","tokenHash":"00"}`, 400, []string{"tokenHash"}},
		{`{"name":`, 400, nil},
		{`[]`, 400, nil},
	}
	for i, c := range cases {
		status, raw := f.Call(t, u.Token, "POST", "/api/agents", c.body)
		if status != c.status {
			t.Errorf("case %d: status %d, want %d: %s", i, status, c.status, raw)
			continue
		}
		e := apitest.Decode[apitest.ErrorBody](t, raw)
		if e.Error.Code != "invalid_request" {
			t.Errorf("case %d: code %q", i, e.Error.Code)
		}
		for _, fld := range c.fields {
			if e.Error.Fields[fld] == "" {
				t.Errorf("case %d: field %s not reported: %s", i, fld, raw)
			}
		}
	}
	// Nothing was created by any of them.
	list := apitest.Decode[httpx.Page[AgentResponse]](t, f.Must(t, 200, u.Token, "GET", "/api/agents", nil))
	if len(list.Items) != 0 {
		t.Fatalf("bad input created %d agents", len(list.Items))
	}
	req, _ := http.NewRequest("POST", f.URL+"/api/agents", strings.NewReader(`name=x`))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+u.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("form body: %d", res.StatusCode)
	}
}

func TestListPagination(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "pager")
	other := testenv.NewUser(t, f.DB, "pager-other")
	var want []string
	for i := range 5 {
		a, _ := createAgent(t, f, u.Token, CreateAgentRequest{Name: fmt.Sprintf("agent %d", i)})
		want = append([]string{a.ID}, want...)
	}
	createAgent(t, f, other.Token, CreateAgentRequest{Name: "not mine", Visibility: "public"})
	var seen []string
	path := "/api/agents?limit=2"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		p := apitest.Decode[httpx.Page[AgentResponse]](t, f.Must(t, 200, u.Token, "GET", path, nil))
		for _, a := range p.Items {
			seen = append(seen, a.ID)
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/agents?limit=2&cursor=" + *p.NextCursor
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("pages gave %v, want %v", seen, want)
	}
	for _, q := range []string{"?cursor=garbage", "?cursor=" + httpx.EncodeCursor("x"), "?limit=0", "?limit=101", "?limit=x"} {
		if status, raw := f.Call(t, u.Token, "GET", "/api/agents"+q, nil); status != 400 {
			t.Errorf("%s: %d %s", q, status, raw)
		}
	}
}

func TestUpdateAndSkills(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "updater")
	a, _ := createAgent(t, f, u.Token, CreateAgentRequest{Name: "Old Name", AvatarURL: apitest.Ptr("https://x.example/a.png")})
	got := apitest.Decode[AgentResponse](t, f.Must(t, 200, u.Token, "PUT", "/api/agents/"+a.ID,
		UpdateAgentRequest{Name: apitest.Ptr("New Name"), AvatarURL: apitest.Ptr(""), Visibility: apitest.Ptr("public")}))
	if got.Name != "New Name" || got.Handle != "new-name" || got.AvatarURL != nil || got.Visibility != "public" || got.Description != "" {
		t.Fatalf("updated = %+v", got)
	}
	if status, raw := f.Call(t, u.Token, "PUT", "/api/agents/"+a.ID, UpdateAgentRequest{Name: apitest.Ptr(""), Visibility: apitest.Ptr("x")}); status != 400 ||
		apitest.Decode[apitest.ErrorBody](t, raw).Error.Fields["visibility"] == "" {
		t.Fatalf("bad update: %d %s", status, raw)
	}

	skills := SkillsBody{Skills: []ari.Skill{{Name: "echo", Description: "says it again"}, {Name: "time"}}}
	put := apitest.Decode[SkillsBody](t, f.Must(t, 200, u.Token, "PUT", "/api/agents/"+a.ID+"/skills", skills))
	get := apitest.Decode[SkillsBody](t, f.Must(t, 200, u.Token, "GET", "/api/agents/"+a.ID+"/skills", nil))
	if !slices.Equal(put.Skills, skills.Skills) || !slices.Equal(get.Skills, skills.Skills) {
		t.Fatalf("skills put %v get %v", put.Skills, get.Skills)
	}
	tooMany := SkillsBody{}
	for i := range ari.MaxSkills + 1 {
		tooMany.Skills = append(tooMany.Skills, ari.Skill{Name: fmt.Sprint("s", i)})
	}
	for _, bad := range []any{tooMany, SkillsBody{Skills: []ari.Skill{{Name: ""}}}, `{}`,
		SkillsBody{Skills: []ari.Skill{{Name: strings.Repeat("x", 65)}}},
		SkillsBody{Skills: []ari.Skill{{Name: "x", Description: strings.Repeat("y", 1025)}}}} {
		if status, raw := f.Call(t, u.Token, "PUT", "/api/agents/"+a.ID+"/skills", bad); status != 400 {
			t.Errorf("skills %v: %d %s", bad, status, raw)
		}
	}
	get = apitest.Decode[SkillsBody](t, f.Must(t, 200, u.Token, "GET", "/api/agents/"+a.ID+"/skills", nil))
	if !slices.Equal(get.Skills, skills.Skills) {
		t.Fatalf("a refused PUT changed the skills: %v", get.Skills)
	}
	// Clearing is allowed.
	if got := apitest.Decode[SkillsBody](t, f.Must(t, 200, u.Token, "PUT", "/api/agents/"+a.ID+"/skills", `{"skills":[]}`)); got.Skills == nil || len(got.Skills) != 0 {
		t.Fatalf("cleared skills = %#v", got.Skills)
	}
}

func TestRegenerateTokenRevokesOldAtOnce(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "rotator")
	a, oldToken := createAgent(t, f, u.Token, CreateAgentRequest{Name: "rotating"})
	ctx := context.Background()
	if got, err := f.DB.AgentByToken(ctx, oldToken); err != nil || got.ID != a.ID {
		t.Fatalf("fresh token refused: %v", err)
	}
	ps := apitest.Subscribe(t, f.Redis, f.Keys.AgentChannel(a.ID))
	res := apitest.Decode[AgentWithTokenResponse](t, f.Must(t, 200, u.Token, "POST", "/api/agents/"+a.ID+"/regenerate-token", nil))
	if !tokenFormat.MatchString(res.Token) || res.Token == oldToken || res.Agent.ID != a.ID ||
		res.Agent.TokenHint != "ari_…"+res.Token[len(res.Token)-4:] {
		t.Fatalf("regenerated = %+v", res)
	}
	if _, err := f.DB.AgentByToken(ctx, oldToken); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old token still works: %v", err)
	}
	if got, err := f.DB.AgentByToken(ctx, res.Token); err != nil || got.ID != a.ID {
		t.Fatalf("new token refused: %v", err)
	}
	ev := apitest.NextEvent(t, ps)
	if ev.Type != events.AgentTokenRevoked || apitest.Decode[AgentEventData](t, ev.Data).AgentID != a.ID {
		t.Fatalf("event = %+v %s", ev, ev.Data)
	}
}

func TestDeletePublishesAndForgets(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "deleter")
	a, token := createAgent(t, f, u.Token, CreateAgentRequest{Name: "doomed"})
	ps := apitest.Subscribe(t, f.Redis, f.Keys.AgentChannel(a.ID))
	f.Must(t, 204, u.Token, "DELETE", "/api/agents/"+a.ID, nil)
	ev := apitest.NextEvent(t, ps)
	if ev.Type != events.AgentDeleted || apitest.Decode[AgentEventData](t, ev.Data).AgentID != a.ID {
		t.Fatalf("event = %+v", ev)
	}
	f.Must(t, 404, u.Token, "GET", "/api/agents/"+a.ID, nil)
	f.Must(t, 404, u.Token, "DELETE", "/api/agents/"+a.ID, nil)
	if _, err := f.DB.AgentByToken(context.Background(), token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted agent's token works: %v", err)
	}
}

func TestStatsAndHistoryOverHTTP(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "statist")
	a, _ := createAgent(t, f, u.Token, CreateAgentRequest{Name: "measured"})
	conv, err := f.DB.CreateDirectConversation(context.Background(), u.ID, a.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	empty := apitest.Decode[ari.AgentStats](t, f.Must(t, 200, u.Token, "GET", "/api/agents/"+a.ID+"/stats", nil))
	if empty.Conversations != 1 || empty.Messages != 0 || empty.FirstChunkMs.Median != nil || empty.CompletionMs.P95 != nil {
		t.Fatalf("empty stats = %+v", empty)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var replies []string
	for i, lat := range []int{100, 300, 200, 900} {
		created := base.Add(time.Duration(i) * time.Minute)
		first := created.Add(time.Duration(lat) * time.Millisecond)
		done := first.Add(time.Second)
		status := ari.StatusComplete
		if i == 3 {
			status = ari.StatusError
		}
		apitest.SeedMessage(t, f.DB, conv.ID, ari.RoleUser, &u.ID, nil, "q", ari.StatusComplete, created, nil, nil)
		replies = append(replies, apitest.SeedMessage(t, f.DB, conv.ID, ari.RoleAgent, nil, &a.ID, "a", status, created, &first, &done))
	}
	s := apitest.Decode[ari.AgentStats](t, f.Must(t, 200, u.Token, "GET", "/api/agents/"+a.ID+"/stats", nil))
	// first chunk over 100, 200, 300, 900: median 250, p95 = 300 + 0.85*600.
	if s.Messages != 8 || s.Replies.Completed != 3 || s.Replies.Errored != 1 ||
		*s.FirstChunkMs.Median != 250 || *s.FirstChunkMs.P95 < 809.99 || *s.FirstChunkMs.P95 > 810.01 ||
		*s.CompletionMs.Median != 1200 {
		t.Fatalf("stats = %+v median %v p95 %v completion %v", s, *s.FirstChunkMs.Median, *s.FirstChunkMs.P95, *s.CompletionMs.Median)
	}

	var seen []string
	path := "/api/agents/" + a.ID + "/history?limit=3"
	for {
		p := apitest.Decode[httpx.Page[ari.AgentTask]](t, f.Must(t, 200, u.Token, "GET", path, nil))
		for _, k := range p.Items {
			seen = append(seen, k.MessageID)
			if k.ConversationID != conv.ID || k.FirstChunkMs == nil || k.DurationMs == nil {
				t.Fatalf("task = %+v", k)
			}
		}
		if p.NextCursor == nil {
			break
		}
		path = "/api/agents/" + a.ID + "/history?limit=3&cursor=" + *p.NextCursor
	}
	slices.Reverse(seen)
	if !slices.Equal(seen, replies) {
		t.Fatalf("history %v, want newest first of %v", seen, replies)
	}
	f.Must(t, 400, u.Token, "GET", "/api/agents/"+a.ID+"/history?cursor=%7B", nil)
}

func TestExportStreamsValidJSON(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "exporter")
	stranger := testenv.NewUser(t, f.DB, "export-stranger")
	a, token := createAgent(t, f, owner.Token, CreateAgentRequest{Name: "exported", Visibility: "public",
		A2AAuthHeader: apitest.Ptr("Bearer hidden-credential"), Skills: []ari.Skill{{Name: "echo"}}})
	ctx := context.Background()
	mine1, _ := f.DB.CreateDirectConversation(ctx, owner.ID, a.ID, "first")
	empty, _ := f.DB.CreateDirectConversation(ctx, owner.ID, a.ID, "empty")
	theirs, _ := f.DB.CreateDirectConversation(ctx, stranger.ID, a.ID, "private talk")
	now := time.Now()
	for i := range 250 {
		apitest.SeedMessage(t, f.DB, mine1.ID, ari.RoleUser, &owner.ID, nil, fmt.Sprintf("line %d \"quoted\" </script>", i), ari.StatusComplete, now, nil, nil)
	}
	apitest.SeedMessage(t, f.DB, theirs.ID, ari.RoleUser, &stranger.ID, nil, "the stranger's secret", ari.StatusComplete, now, nil, nil)

	req, _ := http.NewRequest("GET", f.URL+"/api/agents/"+a.ID+"/export", nil)
	req.Header.Set("Authorization", "Bearer "+owner.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(res.Header.Get("Content-Disposition"), "agent-exported.json") {
		t.Fatalf("status %d headers %v", res.StatusCode, res.Header)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var doc ExportDocument
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("export is not valid JSON: %v\n%.500s", err, raw)
	}
	if doc.Agent.ID != a.ID || len(doc.Skills) != 1 || doc.ExportedAt.IsZero() {
		t.Fatalf("agent part = %+v", doc.Agent)
	}
	if len(doc.Conversations) != 2 || doc.Conversations[0].ID != mine1.ID || doc.Conversations[1].ID != empty.ID {
		t.Fatalf("conversations = %d (%+v)", len(doc.Conversations), doc.Conversations)
	}
	msgs := doc.Conversations[0].Messages
	if len(msgs) != 250 || len(doc.Conversations[1].Messages) != 0 {
		t.Fatalf("%d messages in the first, %d in the empty one", len(msgs), len(doc.Conversations[1].Messages))
	}
	for i, m := range msgs {
		if m.Seq != int64(i+1) || m.Content != fmt.Sprintf("line %d \"quoted\" </script>", i) {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
	var hash []byte
	if err := f.DB.Pool.QueryRow(ctx, `select token_hash from agents where id = $1`, a.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{hex.EncodeToString(hash), token, "hidden-credential", "the stranger's secret", "token_hash", "tokenHash"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("export contains %q", secret)
		}
	}
}

// TestAuthorizationMatrix walks every route: without a session 401; a
// stranger gets 404 for a private agent and for an unknown id, and 403 for
// changing or inspecting someone else's public agent, which they may only view.
func TestAuthorizationMatrix(t *testing.T) {
	f := setup(t)
	owner := testenv.NewUser(t, f.DB, "matrix-owner")
	stranger := testenv.NewUser(t, f.DB, "matrix-stranger")
	priv, _ := createAgent(t, f, owner.Token, CreateAgentRequest{Name: "private", A2AEndpoint: apitest.Ptr("https://x.example/a2a")})
	pub, _ := createAgent(t, f, owner.Token, CreateAgentRequest{Name: "public", Visibility: "public",
		A2AEndpoint: apitest.Ptr("https://x.example/a2a"), A2AAuthHeader: apitest.Ptr("Bearer zzz")})

	type route struct {
		pattern string
		body    any
		// public: what a stranger gets on a public agent.
		public int
	}
	routes := []route{
		{"POST /api/agents", CreateAgentRequest{Name: "x"}, 0},
		{"GET /api/agents", nil, 0},
		{"GET /api/agents/{id}", nil, 200},
		{"PUT /api/agents/{id}", UpdateAgentRequest{Name: apitest.Ptr("stolen")}, 403},
		{"DELETE /api/agents/{id}", nil, 403},
		{"GET /api/agents/{id}/skills", nil, 200},
		{"PUT /api/agents/{id}/skills", SkillsBody{Skills: []ari.Skill{}}, 403},
		{"POST /api/agents/{id}/regenerate-token", nil, 403},
		{"GET /api/agents/{id}/stats", nil, 403},
		{"GET /api/agents/{id}/history", nil, 403},
		{"GET /api/agents/{id}/export", nil, 403},
	}
	var covered []string
	for _, r := range routes {
		covered = append(covered, r.pattern)
		method, path := httpx.SplitPattern(r.pattern)
		at := func(id string) string { return strings.ReplaceAll(path, "{id}", id) }
		if status, _ := f.Call(t, "", method, at(pub.ID), r.body); status != 401 {
			t.Errorf("%s without session: %d", r.pattern, status)
		}
		if !strings.Contains(path, "{id}") {
			continue
		}
		for _, id := range []string{priv.ID, "00000000-0000-0000-0000-000000000000", "not-a-uuid"} {
			if status, raw := f.Call(t, stranger.Token, method, at(id), r.body); status != 404 || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != "not_found" {
				t.Errorf("%s as stranger on %s: %d %s", r.pattern, id, status, raw)
			}
		}
		status, raw := f.Call(t, stranger.Token, method, at(pub.ID), r.body)
		if status != r.public {
			t.Errorf("%s as stranger on a public agent: %d, want %d: %s", r.pattern, status, r.public, raw)
		}
		if status == 200 && (bytes.Contains(raw, []byte("tokenHint")) || bytes.Contains(raw, []byte("a2aEndpoint")) ||
			bytes.Contains(raw, []byte("a2aAuthHeaderSet")) || bytes.Contains(raw, []byte("zzz"))) {
			t.Errorf("%s shows owner-only fields to a stranger: %s", r.pattern, raw)
		}
	}
	patterns := New(Deps{Auth: f.Auth}).Patterns()
	slices.Sort(covered)
	if !slices.Equal(patterns, covered) {
		t.Fatalf("matrix covers %v\nrouter serves %v", covered, patterns)
	}
	// The stranger's view of the public agent: public fields, not theirs.
	v := apitest.Decode[AgentResponse](t, f.Must(t, 200, stranger.Token, "GET", "/api/agents/"+pub.ID, nil))
	if v.Mine || v.Name != "public" || v.Handle != "public" {
		t.Fatalf("public view = %+v", v)
	}
	// The stranger's list holds only their own.
	list := apitest.Decode[httpx.Page[AgentResponse]](t, f.Must(t, 200, stranger.Token, "GET", "/api/agents", nil))
	for _, a := range list.Items {
		if a.OwnerID != stranger.ID {
			t.Fatalf("stranger's list has %s", a.ID)
		}
	}
	// Nothing the stranger tried changed the agents.
	after := apitest.Decode[AgentResponse](t, f.Must(t, 200, owner.Token, "GET", "/api/agents/"+pub.ID, nil))
	if after.Name != "public" || after.TokenHint != pub.TokenHint {
		t.Fatalf("public agent changed: %+v", after)
	}
}

// An A2A endpoint is refused when written if the relay would refuse to dial
// it (netguard's rule, as for push subscriptions), unless private networks
// are allowed; nothing changes.
func TestA2AEndpointMustBePublic(t *testing.T) {
	f := setup(t)
	u := testenv.NewUser(t, f.DB, "guarded")
	a, _ := createAgent(t, f, u.Token, CreateAgentRequest{Name: "guarded", A2AEndpoint: apitest.Ptr("https://agents.example.com/a2a")})
	for _, ep := range []string{
		"http://localhost:9999/a2a", "https://a.localhost/a2a", "http://127.0.0.1/a2a", "http://[::1]/a2a",
		"http://10.0.0.5/a2a", "http://169.254.169.254/latest", "http://100.100.100.200/", "http://198.18.0.1/",
		"http://192.0.0.1/", "http://240.0.0.1/", "http://0.0.0.0/", "http://[fec0::1]/", "http://[64:ff9b::a9fe:a9fe]/",
		"http://[2002:a9fe:a9fe::1]/", "http://0x7f000001/", "http://127.1/",
	} {
		status, raw := f.Call(t, u.Token, "POST", "/api/agents", CreateAgentRequest{Name: "x", A2AEndpoint: apitest.Ptr(ep)})
		if e := apitest.Decode[apitest.ErrorBody](t, raw); status != 400 || e.Error.Fields["a2aEndpoint"] == "" {
			t.Errorf("create %s: %d %s", ep, status, raw)
		}
		status, raw = f.Call(t, u.Token, "PUT", "/api/agents/"+a.ID, UpdateAgentRequest{A2AEndpoint: apitest.Ptr(ep)})
		if e := apitest.Decode[apitest.ErrorBody](t, raw); status != 400 || e.Error.Fields["a2aEndpoint"] == "" {
			t.Errorf("update %s: %d %s", ep, status, raw)
		}
	}
	got := apitest.Decode[AgentResponse](t, f.Must(t, 200, u.Token, "GET", "/api/agents/"+a.ID, nil))
	if got.A2AEndpoint == nil || *got.A2AEndpoint != "https://agents.example.com/a2a" {
		t.Fatalf("endpoint changed: %+v", got.A2AEndpoint)
	}
	list := apitest.Decode[httpx.Page[AgentResponse]](t, f.Must(t, 200, u.Token, "GET", "/api/agents", nil))
	if len(list.Items) != 1 {
		t.Fatalf("refused endpoints created %d agents", len(list.Items)-1)
	}

	// With private networks allowed (local development), they are accepted.
	open := New(Deps{DB: f.DB, Redis: f.Redis, Keys: f.Keys, Events: events.NewPublisher(f.Redis, f.Keys), AllowPrivateNetworks: true,
		Auth: &auth.Authenticator{DB: f.DB, Secret: config.DevSecret, Cookies: auth.NewCookies("http://localhost:3501")}})
	api := apitest.Serve(t, open)
	api.Must(t, 201, u.Token, "POST", "/api/agents", CreateAgentRequest{Name: "local", A2AEndpoint: apitest.Ptr("http://localhost:9999/a2a")})
	api.Must(t, 200, u.Token, "PUT", "/api/agents/"+a.ID, UpdateAgentRequest{A2AEndpoint: apitest.Ptr("http://127.0.0.1:9999/a2a")})
}
