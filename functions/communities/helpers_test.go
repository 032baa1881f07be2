package communities

import (
	"testing"

	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// setup serves the function on a fresh database and Redis prefix.
func setup(t *testing.T) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	return e.Serve(t, New(Deps{DB: e.DB, Auth: e.Auth}))
}

// serveWith is setup with the send limit counted in Redis.
func serveWith(t *testing.T, rule ratelimit.Rule) *apitest.Env {
	t.Helper()
	e := apitest.New(t)
	return e.Serve(t, New(Deps{DB: e.DB, Auth: e.Auth, Limiter: ratelimit.New(e.Redis, e.Keys), SendRule: rule}))
}

// world is a community with one user of each standing.
type world struct {
	id                                     string
	owner, admin, member, outsider, banned testenv.TestUser
}

func newWorld(t *testing.T, f *apitest.Env, visibility string) world {
	t.Helper()
	ctx := t.Context()
	w := world{owner: testenv.NewUser(t, f.DB, "owner"), admin: testenv.NewUser(t, f.DB, "admin"),
		member: testenv.NewUser(t, f.DB, "member"), outsider: testenv.NewUser(t, f.DB, "outsider"),
		banned: testenv.NewUser(t, f.DB, "banned")}
	c, err := f.DB.CreateCommunity(ctx, w.owner.ID, store.NewCommunity{Name: "World", Slug: "w-" + testenv.RandomID(6), Visibility: visibility})
	if err != nil {
		t.Fatal(err)
	}
	w.id = c.ID
	w.add(t, f, w.admin.ID, w.member.ID, w.banned.ID)
	if _, err := f.DB.SetCommunityRole(ctx, w.owner.ID, w.id, w.admin.ID, store.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if _, err := f.DB.BanMember(ctx, w.owner.ID, w.id, w.banned.ID, "test"); err != nil {
		t.Fatal(err)
	}
	return w
}

// add makes users plain members, as an accepted invite does.
func (w world) add(t *testing.T, f *apitest.Env, users ...string) {
	t.Helper()
	for _, u := range users {
		if _, err := f.DB.Pool.Exec(t.Context(), `insert into community_members (community_id, user_id) values ($1, $2)`, w.id, u); err != nil {
			t.Fatal(err)
		}
	}
}

// fresh is a new plain member.
func (w world) fresh(t *testing.T, f *apitest.Env) testenv.TestUser {
	t.Helper()
	u := testenv.NewUser(t, f.DB, "fresh")
	w.add(t, f, u.ID)
	return u
}
