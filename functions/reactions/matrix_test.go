package reactions

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// TestAuthorizationMatrix walks every route as two members and an outsider.
// It fails when a route is added without a row here.
func TestAuthorizationMatrix(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	eve := testenv.NewUser(t, f.DB, "eve")
	conv := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	base := "/api/messages/" + apitest.Post(t, f.DB, conv, ada.ID, "react to me")[0] + "/reactions"
	type row struct {
		pattern, path string
		body          any
		ada, bob, eve int // expected statuses, in the order eve, bob, ada
	}
	rows := []row{
		{"GET /api/messages/{id}/reactions", base, nil, 200, 200, 404},
		{"POST /api/messages/{id}/reactions", base, map[string]string{"emoji": "🎉"}, 201, 201, 404},
		{"DELETE /api/messages/{id}/reactions/{emoji}", base + "/" + url.PathEscape("🎉"), nil, 204, 204, 404},
	}
	var covered []string
	for _, r := range rows {
		covered = append(covered, r.pattern)
		method, _, _ := strings.Cut(r.pattern, " ")
		for _, c := range []struct {
			who  testenv.TestUser
			want int
		}{{eve, r.eve}, {bob, r.bob}, {ada, r.ada}} {
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
