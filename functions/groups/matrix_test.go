package groups

import (
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// TestAuthorizationMatrix walks every route as the group's owner, a plain
// member and an outsider. It fails when a route is added without a row here.
func TestAuthorizationMatrix(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	cat := testenv.NewUser(t, f.DB, "cat")
	eve := testenv.NewUser(t, f.DB, "eve")
	g, err := f.DB.CreateGroup(t.Context(), ada.ID, store.NewGroup{Title: "m", UserIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	members := "/api/groups/" + g + "/members"
	type row struct {
		pattern, path      string
		body               any
		owner, member, eve int // expected statuses; the owner goes last
	}
	rows := []row{
		// Creating is not scoped to an existing group: anyone signed in may.
		{"POST /api/groups", "/api/groups", map[string]any{"title": "new"}, 201, 201, 201},
		{"GET /api/groups/{id}/members", members, nil, 200, 200, 404},
		{"POST /api/groups/{id}/members", members, map[string]string{"userId": cat.ID}, 201, 403, 404},
		{"PUT /api/groups/{id}/members/{memberId}", members + "/" + cat.ID, map[string]string{"role": "admin"}, 200, 403, 404},
		{"DELETE /api/groups/{id}/members/{memberId}", members + "/" + cat.ID, nil, 204, 403, 404},
	}
	var covered []string
	for _, r := range rows {
		covered = append(covered, r.pattern)
		method, _, _ := strings.Cut(r.pattern, " ")
		for _, c := range []struct {
			who  testenv.TestUser
			want int
		}{{eve, r.eve}, {bob, r.member}, {ada, r.owner}} {
			if st, raw := f.Call(t, c.who.Token, method, r.path, r.body); st != c.want {
				t.Errorf("%s as %s: %d, want %d: %s", r.pattern, c.who.Name, st, c.want, raw)
			}
		}
	}
	slices.Sort(covered)
	if routes := New(Deps{DB: f.DB}).Patterns(); !slices.Equal(routes, covered) {
		t.Fatalf("matrix covers %v, the router serves %v", covered, routes)
	}
}
