package communities

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

func TestCreateListAndSearch(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	raw := f.Must(t, 201, ada.Token, "POST", "/api/communities", map[string]string{"name": " Go gophers ", "slug": "go-gophers", "description": "Everything Go."})
	c := apitest.Decode[ari.Community](t, raw)
	if c.Name != "Go gophers" || c.Visibility != "public" || c.MemberCount != 1 || c.MyRole == nil || *c.MyRole != "owner" {
		t.Fatalf("created %+v", c)
	}
	f.Must(t, 409, bob.Token, "POST", "/api/communities", map[string]string{"name": "Other", "slug": "go-gophers"})
	f.Must(t, 201, ada.Token, "POST", "/api/communities", map[string]string{"name": "Secret gophers", "slug": "secret", "visibility": "private"})
	f.Must(t, 201, ada.Token, "POST", "/api/communities", map[string]string{"name": "Rustaceans", "slug": "rust"})

	list := func(q string) []string {
		page := apitest.Decode[httpx.Page[ari.Community]](t, f.Must(t, 200, bob.Token, "GET", "/api/communities"+q, nil))
		var slugs []string
		for _, c := range page.Items {
			slugs = append(slugs, c.Slug)
		}
		return slugs
	}
	// Newest first (the package's other tests made older ones).
	if got := strings.Join(list("?limit=2"), ","); got != "rust,go-gophers" {
		t.Errorf("directory: %s", got)
	}
	for _, q := range []string{"?q=gophers", "?q=goph", "?q=everything", "?q=go%20gophers"} {
		if got := strings.Join(list(q), ","); got != "go-gophers" {
			t.Errorf("search %s: %s, want go-gophers only (the private one never)", q, got)
		}
	}
	page := apitest.Decode[httpx.Page[ari.Community]](t, f.Must(t, 200, bob.Token, "GET", "/api/communities?limit=1", nil))
	if len(page.Items) != 1 || page.NextCursor == nil {
		t.Fatalf("first page %+v", page)
	}
	next := apitest.Decode[httpx.Page[ari.Community]](t, f.Must(t, 200, bob.Token, "GET", "/api/communities?limit=1&cursor="+*page.NextCursor, nil))
	if len(next.Items) != 1 || next.Items[0].Slug != "go-gophers" {
		t.Fatalf("second page %+v", next)
	}

	f.Must(t, 200, bob.Token, "POST", "/api/communities/"+c.ID+"/join", nil)
	joined := apitest.Decode[httpx.Page[ari.Community]](t, f.Must(t, 200, bob.Token, "GET", "/api/communities/joined", nil))
	if len(joined.Items) != 1 || joined.Items[0].MemberCount != 2 || *joined.Items[0].MyRole != "member" {
		t.Fatalf("joined %+v", joined.Items)
	}
}

func TestInvites(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f, store.VisibilityPrivate)
	base := "/api/communities/" + w.id
	inv := apitest.Decode[ari.CommunityInvite](t, f.Must(t, 201, w.admin.Token, "POST", base+"/invites", map[string]int{"maxUses": 1, "expiresInSeconds": 3600}))
	if inv.ExpiresAt == nil || inv.MaxUses == nil || len(inv.Code) != InviteCodeLength {
		t.Fatalf("invite %+v", inv)
	}
	// A member already uses nothing.
	f.Must(t, 409, w.member.Token, "POST", "/api/invites/"+inv.Code+"/accept", nil)
	c := apitest.Decode[ari.Community](t, f.Must(t, 200, w.outsider.Token, "GET", "/api/invites/"+inv.Code, nil))
	if c.ID != w.id || c.MyRole != nil {
		t.Fatalf("preview %+v", c)
	}
	f.Must(t, 403, w.banned.Token, "POST", "/api/invites/"+inv.Code+"/accept", nil)
	f.Must(t, 200, w.outsider.Token, "POST", "/api/invites/"+inv.Code+"/accept", nil)
	f.Must(t, 200, w.outsider.Token, "GET", base+"/members", nil)
	late := testenv.NewUser(t, f.DB, "late")
	f.Must(t, 404, late.Token, "POST", "/api/invites/"+inv.Code+"/accept", nil)
	f.Must(t, 404, late.Token, "GET", "/api/invites/"+inv.Code, nil)

	// Expired and revoked invites lead nowhere.
	exp := apitest.Decode[ari.CommunityInvite](t, f.Must(t, 201, w.owner.Token, "POST", base+"/invites", map[string]int{"expiresInSeconds": 60}))
	if _, err := f.DB.Pool.Exec(t.Context(), `update community_invites set expires_at = now() - interval '1 second' where id = $1`, exp.ID); err != nil {
		t.Fatal(err)
	}
	f.Must(t, 404, late.Token, "POST", "/api/invites/"+exp.Code+"/accept", nil)
	rev := apitest.Decode[ari.CommunityInvite](t, f.Must(t, 201, w.owner.Token, "POST", base+"/invites", map[string]any{}))
	f.Must(t, 204, w.admin.Token, "DELETE", base+"/invites/"+rev.ID, nil)
	f.Must(t, 204, w.admin.Token, "DELETE", base+"/invites/"+rev.ID, nil)
	f.Must(t, 404, late.Token, "POST", "/api/invites/"+rev.Code+"/accept", nil)
	// An invite of another community cannot be revoked through this one.
	other := newWorld(t, f, store.VisibilityPrivate)
	oinv := apitest.Decode[ari.CommunityInvite](t, f.Must(t, 201, other.owner.Token, "POST", "/api/communities/"+other.id+"/invites", map[string]any{}))
	f.Must(t, 404, w.owner.Token, "DELETE", base+"/invites/"+oinv.ID, nil)
	for _, code := range []string{"short", "x1", strings.Repeat("a", 65), "has%20space0000000000"} {
		f.Must(t, 404, late.Token, "POST", "/api/invites/"+code+"/accept", nil)
	}
	f.Must(t, 400, w.owner.Token, "POST", base+"/invites", map[string]int{"maxUses": 0})
	f.Must(t, 400, w.owner.Token, "POST", base+"/invites", map[string]int{"expiresInSeconds": 1})

	// Many racing for the last use of an invite: exactly one gets in.
	last := apitest.Decode[ari.CommunityInvite](t, f.Must(t, 201, w.owner.Token, "POST", base+"/invites", map[string]int{"maxUses": 1}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for i := 0; i < 8; i++ {
		u := testenv.NewUser(t, f.DB, "racer")
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := f.Call(t, u.Token, "POST", "/api/invites/"+last.Code+"/accept", nil)
			mu.Lock()
			statuses[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if statuses[200] != 1 || statuses[404] != 7 {
		t.Fatalf("racing for one use: %v", statuses)
	}
	var uses int
	if err := f.DB.Pool.QueryRow(t.Context(), `select uses from community_invites where id = $1`, last.ID).Scan(&uses); err != nil || uses != 1 {
		t.Fatalf("uses %d %v", uses, err)
	}
}

func TestBanKickAndRoles(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f, store.VisibilityPublic)
	base := "/api/communities/" + w.id
	// The banned user cannot rejoin or read, until unbanned.
	f.Must(t, 403, w.banned.Token, "POST", base+"/join", nil)
	f.Must(t, 403, w.banned.Token, "GET", base+"/members", nil)
	f.Must(t, 204, w.admin.Token, "DELETE", base+"/bans/"+w.banned.ID, nil)
	f.Must(t, 404, w.admin.Token, "DELETE", base+"/bans/"+w.banned.ID, nil)
	f.Must(t, 200, w.banned.Token, "POST", base+"/join", nil)

	// A ban removes a member at once; the database refuses their row after.
	f.Must(t, 201, w.admin.Token, "POST", base+"/bans", map[string]string{"userId": w.member.ID, "reason": "spam"})
	f.Must(t, 403, w.member.Token, "GET", base+"/members", nil)
	if _, err := f.DB.Pool.Exec(t.Context(), `insert into community_members (community_id, user_id) values ($1, $2)`, w.id, w.member.ID); err == nil {
		t.Fatal("the database let a banned user back in")
	}
	bans := apitest.Decode[httpx.Page[ari.CommunityBan]](t, f.Must(t, 200, w.owner.Token, "GET", base+"/bans", nil))
	if len(bans.Items) != 1 || bans.Items[0].UserID != w.member.ID || bans.Items[0].Reason != "spam" {
		t.Fatalf("bans %+v", bans.Items)
	}
	// Someone not yet a member can be banned; an unknown user is 404.
	f.Must(t, 201, w.admin.Token, "POST", base+"/bans", map[string]string{"userId": w.outsider.ID})
	f.Must(t, 403, w.outsider.Token, "POST", base+"/join", nil)
	f.Must(t, 404, w.admin.Token, "POST", base+"/bans", map[string]string{"userId": "nobody"})

	// Ranks: an admin cannot act on an owner or another admin, nor on itself.
	other := w.fresh(t, f)
	f.Must(t, 200, w.owner.Token, "PUT", base+"/members/"+other.ID, map[string]string{"role": "admin"})
	f.Must(t, 403, w.admin.Token, "DELETE", base+"/members/"+other.ID, nil)
	f.Must(t, 403, w.admin.Token, "DELETE", base+"/members/"+w.owner.ID, nil)
	f.Must(t, 403, w.admin.Token, "POST", base+"/bans", map[string]string{"userId": w.owner.ID})
	f.Must(t, 403, w.admin.Token, "POST", base+"/bans", map[string]string{"userId": w.admin.ID})
	f.Must(t, 204, w.owner.Token, "DELETE", base+"/members/"+other.ID, nil)
	f.Must(t, 404, w.owner.Token, "DELETE", base+"/members/"+other.ID, nil)

	// The last owner stays until someone else owns the community.
	f.Must(t, 409, w.owner.Token, "POST", base+"/leave", nil)
	f.Must(t, 409, w.owner.Token, "PUT", base+"/members/"+w.owner.ID, map[string]string{"role": "member"})
	f.Must(t, 200, w.owner.Token, "PUT", base+"/members/"+w.admin.ID, map[string]string{"role": "owner"})
	f.Must(t, 204, w.owner.Token, "POST", base+"/leave", nil)
	c := apitest.Decode[ari.Community](t, f.Must(t, 200, w.admin.Token, "GET", base, nil))
	var n int
	if err := f.DB.Pool.QueryRow(t.Context(), `select count(*) from community_members where community_id = $1`, w.id).Scan(&n); err != nil || n != c.MemberCount {
		t.Fatalf("memberCount %d, rows %d (%v)", c.MemberCount, n, err)
	}
}

func TestUpdateAndDelete(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f, store.VisibilityPublic)
	base := "/api/communities/" + w.id
	c := apitest.Decode[ari.Community](t, f.Must(t, 200, w.admin.Token, "PUT", base, map[string]string{"name": "Renamed", "description": "new"}))
	if c.Name != "Renamed" || c.Description != "new" {
		t.Fatalf("updated %+v", c)
	}
	f.Must(t, 403, w.admin.Token, "PUT", base, map[string]string{"visibility": "private"})
	f.Must(t, 403, w.admin.Token, "PUT", base, map[string]string{"slug": "taken-by-admin"})
	f.Must(t, 200, w.owner.Token, "PUT", base, map[string]string{"visibility": "private"})
	// Private now: outsiders see nothing.
	f.Must(t, 404, w.outsider.Token, "GET", base, nil)
	for _, body := range []any{map[string]string{}, map[string]string{"slug": "Bad Slug"}, map[string]string{"slug": "-x"},
		map[string]string{"name": ""}, map[string]string{"name": strings.Repeat("n", 101)}, map[string]any{"name": 5},
		map[string]string{"visibility": "secret"}, `{"name":"a\u0000b"}`, `{"name":"\ud800"}`, `[]`, `{"unknown":1}`} {
		if st, raw := f.Call(t, w.owner.Token, "PUT", base, body); st != http.StatusBadRequest {
			t.Errorf("PUT %v: %d %s", body, st, raw)
		}
	}
	f.Must(t, 204, w.owner.Token, "DELETE", base, nil)
	f.Must(t, 404, w.owner.Token, "GET", base, nil)
}
