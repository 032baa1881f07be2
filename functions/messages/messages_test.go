package messages

import (
	"context"
	"fmt"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

type page = httpx.Page[store.ListedMessage]

func seqs(p page) []int64 {
	out := make([]int64, len(p.Items))
	for i, m := range p.Items {
		out[i] = m.Seq
	}
	return out
}

func TestPaginationWalksEveryMessageOnceInOrder(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	conv := apitest.Conversation(t, f.DB, "direct", ada.ID)
	apitest.PostMany(t, f.DB, conv, ada.ID, 1000)
	base := "/api/conversations/" + conv + "/messages"

	// Backwards from the newest page by prevCursor.
	var got []int64
	path := base + "?limit=37"
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		st, raw := f.Call(t, ada.Token, "GET", path, nil)
		if st != 200 {
			t.Fatalf("status %d: %s", st, raw)
		}
		p := apitest.Decode[page](t, raw)
		if len(p.Items) > 37 {
			t.Fatalf("page of %d items over limit 37", len(p.Items))
		}
		got = append(append([]int64{}, seqs(p)...), got...)
		if pages == 0 && p.NextCursor != nil {
			t.Fatalf("newest page has a newer cursor")
		}
		if p.PrevCursor == nil {
			break
		}
		path = base + "?limit=37&cursor=" + *p.PrevCursor
	}
	checkRun(t, got, 1, 1000)

	// Forwards from the start by nextCursor.
	got = nil
	path = base + "?after=0&limit=100"
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("pagination does not end")
		}
		st, raw := f.Call(t, ada.Token, "GET", path, nil)
		if st != 200 {
			t.Fatalf("status %d: %s", st, raw)
		}
		p := apitest.Decode[page](t, raw)
		got = append(got, seqs(p)...)
		if p.NextCursor == nil {
			break
		}
		path = base + "?limit=100&cursor=" + *p.NextCursor
	}
	checkRun(t, got, 1, 1000)

	// before / after by seq, and around in the middle and at both ends.
	for _, c := range []struct {
		query      string
		first, end int64
		older      bool
		newer      bool
	}{
		{"before=500&limit=10", 490, 499, true, true},
		{"before=5&limit=10", 1, 4, false, true},
		{"after=995&limit=10", 996, 1000, true, false},
		{"after=10&limit=5", 11, 15, true, true},
		{"around=500&limit=11", 495, 505, true, true},
		{"around=1&limit=11", 1, 11, false, true},
		{"around=1000&limit=11", 990, 1000, true, false},
		{"limit=100", 901, 1000, true, false},
		{"", 951, 1000, true, false}, // default limit 50
	} {
		st, raw := f.Call(t, ada.Token, "GET", base+"?"+c.query, nil)
		if st != 200 {
			t.Fatalf("%s: status %d: %s", c.query, st, raw)
		}
		p := apitest.Decode[page](t, raw)
		checkRun(t, seqs(p), c.first, c.end)
		if (p.PrevCursor != nil) != c.older || (p.NextCursor != nil) != c.newer {
			t.Errorf("%s: cursors prev=%v next=%v, want older=%v newer=%v", c.query, p.PrevCursor != nil, p.NextCursor != nil, c.older, c.newer)
		}
	}
}

func checkRun(t *testing.T, got []int64, from, to int64) {
	t.Helper()
	if int64(len(got)) != to-from+1 {
		t.Fatalf("got %d messages, want %d (%d..%d): %v", len(got), to-from+1, from, to, short(got))
	}
	for i, s := range got {
		if s != from+int64(i) {
			t.Fatalf("position %d has seq %d, want %d: %v", i, s, from+int64(i), short(got))
		}
	}
}

func short(s []int64) []int64 {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func TestPageValidation(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	conv := apitest.Conversation(t, f.DB, "direct", ada.ID)
	apitest.Post(t, f.DB, conv, ada.ID, "hello")
	base := "/api/conversations/" + conv + "/messages?"
	for q, field := range map[string]string{
		"limit=0":                     "limit",
		"limit=101":                   "limit",
		"limit=ten":                   "limit",
		"before=1&after=2":            "after",
		"around=5&before=3":           "around",
		"after=1&cursor=abc":          "cursor",
		"before=0":                    "before",
		"around=-4":                   "around",
		"after=x":                     "after",
		"cursor=not-a-cursor":         "cursor",
		"before=99999999999999999999": "before",
		"versions=newest":             "versions",
	} {
		st, raw := f.Call(t, ada.Token, "GET", base+q, nil)
		if st != 400 {
			t.Errorf("%s: status %d, want 400: %s", q, st, raw)
			continue
		}
		e := apitest.Decode[apitest.ErrorBody](t, raw)
		if e.Error.Code != "invalid_request" || e.Error.Fields[field] == "" {
			t.Errorf("%s: error %s, want a problem with %s", q, raw, field)
		}
	}
}

func TestDeleteLeavesTombstoneAndTellsMembers(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	eve := testenv.NewUser(t, f.DB, "eve")
	conv := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	ids := apitest.Post(t, f.DB, conv, ada.ID, "one", "two secret", "three")
	bobsOwn := apitest.Post(t, f.DB, conv, bob.ID, "bob's")
	var attID string
	if err := f.DB.Pool.QueryRow(context.Background(), `insert into attachments (owner_id, message_id, storage_key, content_type, size, status)
		values ($1, $2, 'k/1', 'image/png', 10, 'ready') returning id`, ada.ID, ids[1]).Scan(&attID); err != nil {
		t.Fatal(err)
	}
	st, raw := f.Call(t, ada.Token, "GET", "/api/conversations/"+conv+"/messages", nil)
	if p := apitest.Decode[page](t, raw); st != 200 || len(p.Items[1].Attachments) != 1 || p.Items[1].Attachments[0].ID != attID {
		t.Fatalf("attachment not listed: %d %s", st, raw)
	}

	adaEvents, bobEvents := f.Listen(t, ada.ID), f.Listen(t, bob.ID)

	// Someone else's message in a conversation I am in: visible, not mine.
	if st, raw := f.Call(t, bob.Token, "DELETE", "/api/messages/"+ids[1], nil); st != 403 {
		t.Fatalf("member deleting another's message: %d %s", st, raw)
	}
	// Not a member, or no such message: the same 404.
	if st, raw := f.Call(t, eve.Token, "DELETE", "/api/messages/"+ids[1], nil); st != 404 {
		t.Fatalf("outsider: %d %s", st, raw)
	}
	if st, _ := f.Call(t, ada.Token, "DELETE", "/api/messages/nope", nil); st != 404 {
		t.Fatalf("unknown id: %d", st)
	}
	if st, _ := f.Call(t, "", "DELETE", "/api/messages/"+ids[1], nil); st != 401 {
		t.Fatalf("anonymous: %d", st)
	}
	if st, raw := f.Call(t, ada.Token, "DELETE", "/api/messages/"+ids[1], nil); st != 204 {
		t.Fatalf("delete own: %d %s", st, raw)
	}
	for _, next := range []func() events.Event{adaEvents, bobEvents} {
		ev := next()
		d := apitest.Decode[MessageDeletedData](t, ev.Data)
		if ev.Type != events.MessageDeleted || ev.ConversationID != conv || d.MessageID != ids[1] || d.Seq != 2 {
			t.Fatalf("event %+v %s", ev, ev.Data)
		}
	}
	// Repeating is harmless (and tells again, so a lost event heals).
	if st, _ := f.Call(t, ada.Token, "DELETE", "/api/messages/"+ids[1], nil); st != 204 {
		t.Fatalf("repeat delete: %d", st)
	}
	adaEvents()

	st, raw = f.Call(t, bob.Token, "GET", "/api/conversations/"+conv+"/messages", nil)
	p := apitest.Decode[page](t, raw)
	if st != 200 || len(p.Items) != 4 {
		t.Fatalf("page after delete: %d %s", st, raw)
	}
	checkRun(t, seqs(p), 1, 4)
	tomb := p.Items[1]
	if !tomb.Deleted || tomb.Content != "" || tomb.DeletedAt == nil || len(tomb.Attachments) != 0 || tomb.ID != ids[1] {
		t.Fatalf("tombstone %+v", tomb)
	}
	if strings.Contains(string(raw), "secret") {
		t.Fatal("deleted text still served")
	}
	var n int
	if err := f.DB.Pool.QueryRow(context.Background(), `select count(*) from attachments where id = $1`, attID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("attachment row kept: %d %v", n, err)
	}
	if p.Items[3].ID != bobsOwn[0] || p.Items[3].Deleted {
		t.Fatalf("other messages changed: %+v", p.Items[3])
	}
}

func TestHistoryIsMembersOnly(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	eve := testenv.NewUser(t, f.DB, "eve")
	conv := apitest.Conversation(t, f.DB, "direct", ada.ID)
	apitest.Post(t, f.DB, conv, ada.ID, "private words")
	for _, path := range []string{
		"/api/conversations/" + conv + "/messages",
		"/api/conversations/" + conv + "/messages?around=1",
		"/api/conversations/unknown/messages",
		"/api/messages/search?q=private&conversationId=" + conv,
	} {
		st, raw := f.Call(t, eve.Token, "GET", path, nil)
		if st != 404 || strings.Contains(string(raw), "private words") {
			t.Errorf("%s as outsider: %d %s", path, st, raw)
		}
		if st, _ := f.Call(t, "", "GET", path, nil); st != 401 {
			t.Errorf("%s anonymous: %d", path, st)
		}
	}
	st, raw := f.Call(t, eve.Token, "GET", "/api/messages/search?q=private", nil)
	if p := apitest.Decode[httpx.Page[SearchHit]](t, raw); st != 200 || len(p.Items) != 0 {
		t.Fatalf("outsider search found %s", raw)
	}
}

type hitPage = httpx.Page[SearchHit]

func search(t *testing.T, f *apitest.Env, token, q string, extra string) hitPage {
	t.Helper()
	st, raw := f.Call(t, token, "GET", "/api/messages/search?q="+url.QueryEscape(q)+extra, nil)
	if st != 200 {
		t.Fatalf("search %q: %d %s", q, st, raw)
	}
	return apitest.Decode[hitPage](t, raw)
}

func TestSearch(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	bob := testenv.NewUser(t, f.DB, "bob")
	mine := apitest.Conversation(t, f.DB, "direct", ada.ID)
	other := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	bobs := apitest.Conversation(t, f.DB, "direct", bob.ID)
	ids := apitest.Post(t, f.DB, mine, ada.ID,
		"Planning the trip to Lisbon in spring",
		"The <b>train</b> leaves at nine & arrives late",
		"Lisbonne ou Lisboa? Both spellings",
		"nothing to see here")
	groupIDs := apitest.Post(t, f.DB, other, bob.ID, "Bob likes Lisbon too")
	apitest.Post(t, f.DB, bobs, bob.ID, "Bob's private Lisbon diary", "zebra crossing")
	gone := apitest.Post(t, f.DB, mine, ada.ID, "deleted Lisbon note")
	if _, err := f.DB.DeleteMessage(context.Background(), ada.ID, gone[0]); err != nil {
		t.Fatal(err)
	}

	idsOf := func(p hitPage) map[string]bool {
		m := map[string]bool{}
		for _, h := range p.Items {
			m[h.Message.ID] = true
		}
		return m
	}
	// A whole word, in both of ada's conversations, never bob's own nor the tombstone.
	got := idsOf(search(t, f, ada.Token, "lisbon", ""))
	if len(got) != 3 || !got[ids[0]] || !got[ids[2]] || !got[groupIDs[0]] {
		t.Fatalf("word search: %v", got)
	}
	// The last word is a prefix: "lisb" finds Lisbon, Lisbonne and Lisboa.
	if got := idsOf(search(t, f, ada.Token, "Lisb", "")); len(got) != 3 {
		t.Fatalf("prefix search: %v", got)
	}
	// Earlier words must match whole; the last is a prefix.
	if got := idsOf(search(t, f, ada.Token, "trip lis", "")); len(got) != 1 || !got[ids[0]] {
		t.Fatalf("word + prefix: %v", got)
	}
	// Websearch syntax: a phrase, and exclusion.
	if got := idsOf(search(t, f, ada.Token, `"the trip"`, "")); len(got) != 1 || !got[ids[0]] {
		t.Fatalf("phrase: %v", got)
	}
	// (The negated last word is no prefix, so "lisbon" matches whole here.)
	if got := idsOf(search(t, f, ada.Token, "lisbon -bob", "")); len(got) != 1 || !got[ids[0]] {
		t.Fatalf("exclusion: %v", got)
	}
	// Narrowed to one conversation.
	if got := idsOf(search(t, f, ada.Token, "lisbon", "&conversationId="+other)); len(got) != 1 || !got[groupIDs[0]] {
		t.Fatalf("one conversation: %v", got)
	}
	// Bob sees his own diary but not ada's direct messages.
	if got := idsOf(search(t, f, bob.Token, "lisbon", "")); len(got) != 2 || got[ids[0]] {
		t.Fatalf("bob's search: %v", got)
	}
	if got := idsOf(search(t, f, ada.Token, "zebra", "")); len(got) != 0 {
		t.Fatalf("found another user's message: %v", got)
	}
	// Snippets are escaped HTML with the matches marked.
	// (Postgres leaves tag-like tokens out of headlines; what remains is
	// escaped, so the only markup is ours.)
	p := search(t, f, ada.Token, "train", "")
	if len(p.Items) != 1 {
		t.Fatalf("train: %+v", p.Items)
	}
	snip := p.Items[0].Snippet
	bare := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(snip)
	if !strings.Contains(snip, "<mark>train</mark>") || !strings.Contains(snip, "nine &amp; arrives") || strings.ContainsAny(bare, "<>") {
		t.Fatalf("snippet %q", snip)
	}
	apitest.Post(t, f.DB, mine, ada.ID, "if a < b then kiwi > c")
	if p := search(t, f, ada.Token, "kiwi", ""); len(p.Items) != 1 || p.Items[0].Snippet != "if a &lt; b then <mark>kiwi</mark> &gt; c" {
		t.Fatalf("snippet: %+v", p.Items)
	}

	// Hostile input is either a clean 400 or a clean (possibly empty) answer.
	for _, q := range []string{
		`"`, `'`, `''`, `"unclosed phrase`, `&|!:*`, `lisbon & | ! : *`, `lisb:*`, `(lisbon`, `\`, `-`, `--`, `or`, `-lisbon`,
		`'; drop table messages; --`, `lisbon' or '1'='1`, `$1`, `%`, `_`, "lisbon\u00a0", "🙂", `<->`, `lisbon <-> trip`,
		`!lisbon`, `lisbon:A`, `x:*B`, "a\tb\nc", strings.Repeat("lisbon ", 142),
	} {
		st, raw := f.Call(t, ada.Token, "GET", "/api/messages/search?q="+url.QueryEscape(q), nil)
		if st != 200 && st != 400 {
			t.Fatalf("q=%q: %d %s", q, st, raw)
		}
	}
	for q, want := range map[string]int{
		"":                              400,
		"   ":                           400,
		strings.Repeat("a", 1001):       400,
		strings.Repeat("lisbon ", 1500): 400, // 10 KB
		"nul\x00byte":                   400,
		"bad\xffutf8":                   400,
		strings.Repeat("é", 1000):       200,
	} {
		st, raw := f.Call(t, ada.Token, "GET", "/api/messages/search?q="+url.QueryEscape(q), nil)
		if st != want {
			t.Errorf("q of %d bytes: %d, want %d: %.200s", len(q), st, want, raw)
		}
	}
	var n int
	if err := f.DB.Pool.QueryRow(context.Background(), `select count(*) from messages`).Scan(&n); err != nil || n < 8 {
		t.Fatalf("messages table harmed: %d %v", n, err)
	}
	for _, bad := range []string{"&limit=0", "&limit=51", "&cursor=zz", "&conversationId="} {
		if st, _ := f.Call(t, ada.Token, "GET", "/api/messages/search?q=lisbon"+bad, nil); st != 400 {
			t.Errorf("%s: %d", bad, st)
		}
	}
}

func TestSearchPagesByRank(t *testing.T) {
	f := setup(t)
	ada := testenv.NewUser(t, f.DB, "ada")
	conv := apitest.Conversation(t, f.DB, "direct", ada.ID)
	for i := 0; i < 45; i++ {
		// Different densities of the word give different ranks; many tie.
		apitest.Post(t, f.DB, conv, ada.ID, strings.Repeat("kiwi ", 1+i%4)+fmt.Sprintf("filler %d words here", i))
	}
	seen := map[string]bool{}
	var last float32 = 1e9
	extra := "&limit=10"
	for pages := 0; pages < 10; pages++ {
		p := search(t, f, ada.Token, "kiwi", extra)
		for _, h := range p.Items {
			if seen[h.Message.ID] {
				t.Fatalf("hit %s twice", h.Message.ID)
			}
			if h.Rank > last {
				t.Fatalf("rank order broken: %v after %v", h.Rank, last)
			}
			seen[h.Message.ID], last = true, h.Rank
		}
		if p.NextCursor == nil {
			break
		}
		extra = "&limit=10&cursor=" + *p.NextCursor
	}
	if len(seen) != 45 {
		t.Fatalf("search pages returned %d of 45", len(seen))
	}
}

func TestRoutesNeedSignIn(t *testing.T) {
	f := setup(t)
	for _, p := range New(Deps{DB: f.DB}).Patterns() {
		method, path := httpx.SplitPattern(p)
		path = strings.NewReplacer("{id}", "x").Replace(path)
		if st, _ := f.Call(t, "", method, path, nil); st != http.StatusUnauthorized {
			t.Errorf("%s: %d without a session", p, st)
		}
	}
}
