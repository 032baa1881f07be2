package groups

import (
	"context"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"testing"

	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// limited serves the groups function with small per-user limits, counted in
// the test's Redis as in production.
func limited(t *testing.T, groupsPerHour, membersPerHour int) *apitest.Env {
	t.Helper()
	return serve(t, func(e *apitest.Env, d *Deps) {
		d.Limiter = ratelimit.New(e.Redis, e.Keys)
		d.Limits = LimitsFrom(groupsPerHour, membersPerHour)
	})
}

func groupCount(t *testing.T, f *apitest.Env, userID string) int {
	t.Helper()
	var n int
	if err := f.DB.Pool.QueryRow(context.Background(), `select count(*) from conversations
		where kind = 'group' and created_by = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func memberCount(t *testing.T, f *apitest.Env, conv string) int {
	t.Helper()
	var n int
	if err := f.DB.Pool.QueryRow(context.Background(), `select count(*) from conversation_members
		where conversation_id = $1`, conv).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func wantRateLimited(t *testing.T, what string, st int, raw []byte) {
	t.Helper()
	if st != 429 {
		t.Fatalf("%s over the limit: %d %s", what, st, raw)
	}
	if e := apitest.Decode[apitest.ErrorBody](t, raw); e.Error.Code != "rate_limited" || e.Error.Message == "" {
		t.Fatalf("%s over the limit: body %s", what, raw)
	}
}

func TestGroupCreationIsLimitedPerUser(t *testing.T) {
	f := limited(t, 3, 100)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	for range 3 {
		f.Must(t, 201, ada.Token, "POST", "/api/groups", map[string]any{"title": "g", "userIds": []string{bob.ID}})
	}
	st, raw := f.Call(t, ada.Token, "POST", "/api/groups", map[string]any{"title": "one too many", "userIds": []string{bob.ID}})
	wantRateLimited(t, "create", st, raw)
	if n := groupCount(t, f, ada.ID); n != 3 {
		t.Fatalf("ada has %d groups after a refused create, want 3", n)
	}
	// The limit is ada's, not everyone's.
	f.Must(t, 201, bob.Token, "POST", "/api/groups", map[string]any{"title": "bob's"})
}

func TestGroupMemberAdditionsAreLimitedPerUser(t *testing.T) {
	f := limited(t, 100, 4)
	ada := testenv.NewUser(t, f.DB, "ada")
	users := make([]testenv.TestUser, 6)
	for i := range users {
		users[i] = testenv.NewUser(t, f.DB, "u")
	}
	// Three members named at creation count as three additions.
	g := apitest.Decode[struct{ ID string }](t, f.Must(t, 201, ada.Token, "POST", "/api/groups",
		map[string]any{"title": "g", "userIds": []string{users[0].ID, users[1].ID, users[2].ID}}))
	members := "/api/groups/" + g.ID + "/members"
	f.Must(t, 201, ada.Token, "POST", members, map[string]string{"userId": users[3].ID})
	st, raw := f.Call(t, ada.Token, "POST", members, map[string]string{"userId": users[4].ID})
	wantRateLimited(t, "add", st, raw)
	if n := memberCount(t, f, g.ID); n != 5 {
		t.Fatalf("%d members after a refused add, want 5", n)
	}
	// A creation naming members is refused as a whole, storing nothing.
	st, raw = f.Call(t, ada.Token, "POST", "/api/groups", map[string]any{"title": "h", "userIds": []string{users[5].ID}})
	wantRateLimited(t, "create with members", st, raw)
	if n := groupCount(t, f, ada.ID); n != 1 {
		t.Fatalf("ada has %d groups, want 1", n)
	}
}
