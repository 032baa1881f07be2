package messages

import (
	"slices"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// TestAuthorizationMatrix walks every route as the message's sender, another
// member and an outsider. It fails when a route is added without a row here.
func TestAuthorizationMatrix(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	eve := testenv.NewUser(t, f.DB, "eve")
	conv := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	msg := apitest.Post(t, f.DB, conv, ada.ID, "matrix words")[0]
	type row struct {
		pattern, path       string
		sender, member, eve int // expected statuses; the sender goes last
	}
	rows := []row{
		{"GET /api/conversations/{id}/messages", "/api/conversations/" + conv + "/messages", 200, 200, 404},
		{"GET /api/messages/search", "/api/messages/search?q=matrix&conversationId=" + conv, 200, 200, 404},
		{"DELETE /api/messages/{id}", "/api/messages/" + msg, 204, 403, 404},
		// An agent's token, never a person's session (agentmessages_test.go
		// walks the agents' side).
		{"POST /api/agent/messages", "/api/agent/messages", 401, 401, 401},
		// An outsider is refused by the function; a member's request goes
		// to the relay, and no relay runs here (503: nothing stored).
		// regenerate_test.go has the relay's answers.
		{"POST /api/conversations/{id}/messages/{messageId}/regenerate", "/api/conversations/" + conv + "/messages/" + msg + "/regenerate", 503, 503, 404},
	}
	var covered []string
	for _, r := range rows {
		covered = append(covered, r.pattern)
		method, _, _ := strings.Cut(r.pattern, " ")
		for _, c := range []struct {
			who  testenv.TestUser
			want int
		}{{eve, r.eve}, {bob, r.member}, {ada, r.sender}} {
			if st, raw := f.Call(t, c.who.Token, method, r.path, nil); st != c.want {
				t.Errorf("%s as %s: %d, want %d: %s", r.pattern, c.who.Name, st, c.want, raw)
			}
		}
	}
	slices.Sort(covered)
	if routes := New(Deps{DB: f.DB}).Patterns(); !slices.Equal(routes, covered) {
		t.Fatalf("matrix covers %v, the router serves %v", covered, routes)
	}
}
