package communities

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

func channelsOf(t *testing.T, f *apitest.Env, token, community string) []ari.Channel {
	t.Helper()
	return apitest.Decode[httpx.Page[ari.Channel]](t, f.Must(t, 200, token, "GET", "/api/communities/"+community+"/channels", nil)).Items
}

func TestChannelsAdminAndOrder(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f, store.VisibilityPrivate)
	base := "/api/communities/" + w.id
	list := channelsOf(t, f, w.member.Token, w.id)
	if len(list) != 1 || list[0].Name != store.DefaultChannel {
		t.Fatalf("a new community has %+v", list)
	}
	general := list[0].ID
	help := apitest.Decode[ari.Channel](t, f.Must(t, 201, w.admin.Token, "POST", base+"/channels", map[string]string{"name": " help ", "topic": "Ask"}))
	if help.Name != "help" || help.Topic != "Ask" || help.Position != 1 {
		t.Fatalf("created %+v", help)
	}
	f.Must(t, 409, w.admin.Token, "POST", base+"/channels", map[string]string{"name": "help"})
	f.Must(t, 409, w.admin.Token, "PUT", "/api/channels/"+help.ID, map[string]string{"name": "general"})
	renamed := apitest.Decode[ari.Channel](t, f.Must(t, 200, w.admin.Token, "PUT", "/api/channels/"+help.ID, map[string]string{"name": "questions"}))
	if renamed.Name != "questions" || renamed.Topic != "Ask" {
		t.Fatalf("renamed %+v", renamed)
	}
	f.Must(t, 200, w.owner.Token, "PUT", base+"/channels/order", map[string][]string{"channelIds": {help.ID, general}})
	if l := channelsOf(t, f, w.member.Token, w.id); l[0].ID != help.ID || l[1].ID != general {
		t.Fatalf("order %+v", l)
	}
	// The list must be exactly the community's channels.
	other := newWorld(t, f, store.VisibilityPublic)
	foreign := channelsOf(t, f, other.owner.Token, other.id)[0].ID
	for _, ids := range [][]string{{help.ID}, {help.ID, general, foreign}, {help.ID, foreign}, {help.ID, help.ID}, {}} {
		if st, raw := f.Call(t, w.owner.Token, "PUT", base+"/channels/order", map[string][]string{"channelIds": ids}); st != 400 {
			t.Errorf("order %v: %d %s", ids, st, raw)
		}
	}
	// Agents: only the community's, and only by admins.
	agent := apitest.Agent(t, f.DB, w.owner.ID, "Helper", "private")
	f.Must(t, 404, w.admin.Token, "POST", "/api/channels/"+help.ID+"/agents", map[string]string{"agentId": agent})
	f.Must(t, 404, w.admin.Token, "POST", base+"/agents", map[string]string{"agentId": agent}) // not the admin's, not public
	f.Must(t, 201, w.owner.Token, "POST", base+"/agents", map[string]string{"agentId": agent})
	f.Must(t, 409, w.owner.Token, "POST", base+"/agents", map[string]string{"agentId": agent})
	ch := apitest.Decode[ari.Channel](t, f.Must(t, 200, w.admin.Token, "POST", "/api/channels/"+help.ID+"/agents", map[string]string{"agentId": agent}))
	if len(ch.AgentIDs) != 1 || ch.AgentIDs[0] != agent {
		t.Fatalf("channel agents %+v", ch.AgentIDs)
	}
	agents := apitest.Decode[httpx.Page[store.CommunityAgentView]](t, f.Must(t, 200, w.member.Token, "GET", base+"/agents", nil)).Items
	if len(agents) != 1 || len(agents[0].ChannelIDs) != 1 || agents[0].ChannelIDs[0] != help.ID {
		t.Fatalf("community agents %+v", agents)
	}
	// Removing it from the community removes it from its channels.
	f.Must(t, 204, w.admin.Token, "DELETE", base+"/agents/"+agent, nil)
	if ch := apitest.Decode[ari.Channel](t, f.Must(t, 200, w.member.Token, "GET", "/api/channels/"+help.ID, nil)); len(ch.AgentIDs) != 0 {
		t.Fatalf("agent stayed in %+v", ch)
	}
	f.Must(t, 204, w.admin.Token, "DELETE", "/api/channels/"+help.ID, nil)
	f.Must(t, 404, w.member.Token, "GET", "/api/channels/"+help.ID, nil)
	// A channel of a private community is 404 for outsiders, of a public one 403.
	f.Must(t, 404, w.outsider.Token, "GET", "/api/channels/"+general, nil)
	f.Must(t, 403, w.outsider.Token, "GET", "/api/channels/"+foreign, nil)
}

func send(t *testing.T, f *apitest.Env, token, channel, clientID, content string) (int, ari.ChannelMessage) {
	t.Helper()
	st, raw := f.Call(t, token, "POST", "/api/channels/"+channel+"/messages", map[string]string{"clientMessageId": clientID, "content": content})
	var m ari.ChannelMessage
	if st < 300 {
		m = apitest.Decode[ari.ChannelMessage](t, raw)
	}
	return st, m
}

func TestChannelMessages(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f, store.VisibilityPublic)
	general := channelsOf(t, f, w.member.Token, w.id)[0].ID

	// Concurrent senders: seqs 1..n without gaps or duplicates.
	const senders, each = 4, 10
	var wg sync.WaitGroup
	users := []testenv.TestUser{w.owner, w.admin, w.member, w.fresh(t, f)}
	for i := 0; i < senders; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				if st, _ := send(t, f, users[i].Token, general, fmt.Sprintf("c%d-%d", i, j), fmt.Sprintf("message %d of %d", j, i)); st != 201 {
					t.Errorf("send: %d", st)
				}
			}
		}()
	}
	wg.Wait()
	var seqs []int64
	if err := func() error {
		rows, err := f.DB.Pool.Query(t.Context(), `select seq from channel_messages where channel_id = $1 order by seq`, general)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				return err
			}
			seqs = append(seqs, s)
		}
		return rows.Err()
	}(); err != nil {
		t.Fatal(err)
	}
	for i, s := range seqs {
		if s != int64(i+1) {
			t.Fatalf("seqs %v", seqs)
		}
	}
	if len(seqs) != senders*each {
		t.Fatalf("%d messages", len(seqs))
	}

	// A retry answers the stored message; the id in another channel is refused.
	st, first := send(t, f, w.member.Token, general, "retry-1", "once")
	st2, again := send(t, f, w.member.Token, general, "retry-1", "once")
	if st != 201 || st2 != 200 || again.ID != first.ID || again.Seq != first.Seq {
		t.Fatalf("retry: %d %d %+v %+v", st, st2, first, again)
	}
	other := apitest.Decode[ari.Channel](t, f.Must(t, 201, w.admin.Token, "POST", "/api/communities/"+w.id+"/channels", map[string]string{"name": "other"}))
	if st, _ := send(t, f, w.member.Token, other.ID, "retry-1", "elsewhere"); st != 409 {
		t.Fatalf("clientMessageId reused in another channel: %d", st)
	}

	// History: newest page, then before/after/around by cursor and seq.
	page := apitest.Decode[httpx.Page[ari.ChannelMessage]](t, f.Must(t, 200, w.member.Token, "GET", "/api/channels/"+general+"/messages?limit=10", nil))
	if len(page.Items) != 10 || page.Items[9].Seq != first.Seq || page.PrevCursor == nil || page.NextCursor != nil {
		t.Fatalf("newest page: %d items, last %d", len(page.Items), page.Items[len(page.Items)-1].Seq)
	}
	older := apitest.Decode[httpx.Page[ari.ChannelMessage]](t, f.Must(t, 200, w.member.Token, "GET", "/api/channels/"+general+"/messages?limit=10&cursor="+*page.PrevCursor, nil))
	if older.Items[9].Seq != page.Items[0].Seq-1 || older.NextCursor == nil {
		t.Fatalf("older page ends at %d", older.Items[9].Seq)
	}
	around := apitest.Decode[httpx.Page[ari.ChannelMessage]](t, f.Must(t, 200, w.member.Token, "GET", "/api/channels/"+general+"/messages?limit=5&around=20", nil))
	if len(around.Items) != 5 || around.Items[0].Seq != 18 || around.Items[4].Seq != 22 {
		t.Fatalf("around 20: %d..%d", around.Items[0].Seq, around.Items[len(around.Items)-1].Seq)
	}
	after := apitest.Decode[httpx.Page[ari.ChannelMessage]](t, f.Must(t, 200, w.member.Token, "GET", "/api/channels/"+general+"/messages?after=0&limit=3", nil))
	if after.Items[0].Seq != 1 || after.PrevCursor != nil || after.NextCursor == nil {
		t.Fatalf("after 0: %+v", after)
	}
	for _, q := range []string{"before=0", "after=-1", "around=x", "before=1&after=2", "limit=0", "limit=101", "cursor=nope", "versions=all"} {
		if st, raw := f.Call(t, w.member.Token, "GET", "/api/channels/"+general+"/messages?"+q, nil); st != 400 && !(q == "versions=all" && st == 200) {
			t.Errorf("history ?%s: %d %s", q, st, raw)
		}
	}

	// Unread from seqs: the member's mark moves forward only, up to lastSeq.
	ch := apitest.Decode[ari.Channel](t, f.Must(t, 200, w.member.Token, "GET", "/api/channels/"+general, nil))
	if ch.LastSeq != first.Seq || ch.UnreadCount != first.Seq || ch.LastReadSeq != 0 {
		t.Fatalf("before reading %+v", ch)
	}
	rr := apitest.Decode[ReadResponse](t, f.Must(t, 200, w.member.Token, "POST", "/api/channels/"+general+"/read", map[string]int64{"seq": 1 << 40}))
	if rr.LastReadSeq != first.Seq {
		t.Fatalf("read mark %d, want %d", rr.LastReadSeq, first.Seq)
	}
	rr = apitest.Decode[ReadResponse](t, f.Must(t, 200, w.member.Token, "POST", "/api/channels/"+general+"/read", map[string]int64{"seq": 3}))
	if rr.LastReadSeq != first.Seq {
		t.Fatalf("read mark moved back to %d", rr.LastReadSeq)
	}
	if l := channelsOf(t, f, w.member.Token, w.id); l[0].UnreadCount != 0 {
		t.Fatalf("unread after reading: %+v", l[0])
	}
	var reads int
	if err := f.DB.Pool.QueryRow(t.Context(), `select count(*) from channel_reads where channel_id = $1`, general).Scan(&reads); err != nil || reads != 1 {
		t.Fatalf("%d read rows (%v): one per member who read, never per message", reads, err)
	}

	// Search: scoped to the community, optionally to a channel.
	send(t, f, w.admin.Token, other.ID, "s1", "Iterators are neat")
	send(t, f, w.admin.Token, general, "s2", "iterators everywhere")
	hits := apitest.Decode[httpx.Page[SearchHit]](t, f.Must(t, 200, w.member.Token, "GET", "/api/communities/"+w.id+"/messages/search?q=iterat", nil))
	if len(hits.Items) != 2 || !strings.Contains(hits.Items[0].Snippet, "<mark>") {
		t.Fatalf("search hits %+v", hits.Items)
	}
	one := apitest.Decode[httpx.Page[SearchHit]](t, f.Must(t, 200, w.member.Token, "GET", "/api/communities/"+w.id+"/messages/search?q=iterators&channelId="+other.ID, nil))
	if len(one.Items) != 1 || one.Items[0].Message.ChannelID != other.ID {
		t.Fatalf("channel search %+v", one.Items)
	}
	elsewhere := newWorld(t, f, store.VisibilityPublic)
	elsewhereCh := channelsOf(t, f, elsewhere.owner.Token, elsewhere.id)[0].ID
	send(t, f, elsewhere.owner.Token, elsewhereCh, "s3", "iterators in another community")
	f.Must(t, 404, w.member.Token, "GET", "/api/communities/"+w.id+"/messages/search?q=iterators&channelId="+elsewhereCh, nil)
	if n := len(apitest.Decode[httpx.Page[SearchHit]](t, f.Must(t, 200, w.member.Token, "GET", "/api/communities/"+w.id+"/messages/search?q=another", nil)).Items); n != 0 {
		t.Fatalf("search saw another community's message")
	}
	f.Must(t, 400, w.member.Token, "GET", "/api/communities/"+w.id+"/messages/search", nil)
	f.Must(t, 403, w.outsider.Token, "GET", "/api/communities/"+w.id+"/messages/search?q=iterators", nil)

	// Delete: one's own, or any as an admin; a tombstone keeps its seq.
	_, mine := send(t, f, w.member.Token, general, "d1", "mine")
	_, admins := send(t, f, w.admin.Token, general, "d2", "admin's")
	f.Must(t, 403, w.member.Token, "DELETE", "/api/channels/"+general+"/messages/"+admins.ID, nil)
	f.Must(t, 204, w.member.Token, "DELETE", "/api/channels/"+general+"/messages/"+mine.ID, nil)
	f.Must(t, 204, w.admin.Token, "DELETE", "/api/channels/"+general+"/messages/"+first.ID, nil)
	f.Must(t, 404, w.member.Token, "DELETE", "/api/channels/"+other.ID+"/messages/"+admins.ID, nil)
	tomb := apitest.Decode[httpx.Page[ari.ChannelMessage]](t, f.Must(t, 200, w.member.Token, "GET", fmt.Sprintf("/api/channels/%s/messages?around=%d&limit=1", general, mine.Seq), nil))
	if len(tomb.Items) != 1 || !tomb.Items[0].Deleted || tomb.Items[0].Content != "" || tomb.Items[0].Seq != mine.Seq {
		t.Fatalf("tombstone %+v", tomb.Items)
	}

	// Reactions.
	path := "/api/channels/" + general + "/messages/" + admins.ID + "/reactions"
	f.Must(t, 201, w.member.Token, "POST", path, map[string]string{"emoji": "👍"})
	f.Must(t, 200, w.member.Token, "POST", path, map[string]string{"emoji": "👍"})
	rc := apitest.Decode[ari.ReactionCount](t, f.Must(t, 201, w.owner.Token, "POST", path, map[string]string{"emoji": "👍"}))
	if rc.Count != 2 {
		t.Fatalf("count %+v", rc)
	}
	f.Must(t, 400, w.owner.Token, "POST", path, map[string]string{"emoji": "not an emoji"})
	f.Must(t, 204, w.member.Token, "DELETE", path+"/👍", nil)
	counts := apitest.Decode[httpx.Page[ari.ReactionCount]](t, f.Must(t, 200, w.member.Token, "GET", path, nil)).Items
	if len(counts) != 1 || counts[0].Count != 1 || counts[0].Me {
		t.Fatalf("counts %+v", counts)
	}
	f.Must(t, 409, w.member.Token, "POST", "/api/channels/"+general+"/messages/"+mine.ID+"/reactions", map[string]string{"emoji": "👍"})

	// Banned: no sends, no reads, at once.
	f.Must(t, 201, w.admin.Token, "POST", "/api/communities/"+w.id+"/bans", map[string]string{"userId": w.member.ID})
	if st, _ := send(t, f, w.member.Token, general, "after-ban", "hi"); st != 403 {
		t.Fatalf("banned send: %d", st)
	}
	f.Must(t, 403, w.member.Token, "GET", "/api/channels/"+general+"/messages", nil)

	// Bad sends store nothing.
	for _, body := range []any{map[string]string{"content": "no id"}, map[string]string{"clientMessageId": "a b", "content": "x"},
		map[string]string{"clientMessageId": "empty", "content": "  "}, map[string]string{"clientMessageId": "big", "content": strings.Repeat("x", ari.MaxMessageBytes+1)},
		map[string]any{"clientMessageId": "att", "content": "x", "attachmentIds": []string{"a", "a"}}, `{"clientMessageId":"nul","content":"a\u0000b"}`} {
		if st, raw := f.Call(t, w.owner.Token, "POST", "/api/channels/"+general+"/messages", body); st != http.StatusBadRequest {
			t.Errorf("send %v: %d %s", body, st, raw)
		}
	}
	f.Must(t, 404, w.owner.Token, "POST", "/api/channels/"+general+"/messages", map[string]any{"clientMessageId": "att2", "content": "x", "attachmentIds": []string{"nope"}})
}

func TestChannelAttachments(t *testing.T) {
	f := setup(t)
	w := newWorld(t, f, store.VisibilityPrivate)
	general := channelsOf(t, f, w.member.Token, w.id)[0].ID
	att, err := f.DB.CreateAttachment(t.Context(), ari.Attachment{OwnerID: w.member.ID, StorageKey: "k/" + testenv.RandomID(8), Name: "a.txt",
		ContentType: "text/plain", Size: 3, Status: ari.AttachmentReady, URL: "https://files.example.com/a.txt"})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else's file cannot be attached.
	f.Must(t, 404, w.admin.Token, "POST", "/api/channels/"+general+"/messages", map[string]any{"clientMessageId": "x1", "attachmentIds": []string{att.ID}})
	m := apitest.Decode[store.ListedChannelMessage](t, f.Must(t, 201, w.member.Token, "POST", "/api/channels/"+general+"/messages",
		map[string]any{"clientMessageId": "f1", "attachmentIds": []string{att.ID}}))
	if len(m.Attachments) != 1 || m.Attachments[0].ID != att.ID || m.Attachments[0].ChannelMessageID == nil {
		t.Fatalf("sent %+v", m)
	}
	page := apitest.Decode[httpx.Page[store.ListedChannelMessage]](t, f.Must(t, 200, w.owner.Token, "GET", "/api/channels/"+general+"/messages", nil))
	if len(page.Items) != 1 || len(page.Items[0].Attachments) != 1 {
		t.Fatalf("history %+v", page.Items)
	}
	// Attached once only; the orphan sweep leaves it alone.
	f.Must(t, 404, w.member.Token, "POST", "/api/channels/"+general+"/messages", map[string]any{"clientMessageId": "f2", "attachmentIds": []string{att.ID}})
	n, err := f.DB.CleanupOrphanAttachments(t.Context(), time.Now().Add(time.Hour), func(context.Context, string) error { return nil })
	if err != nil || n != 0 {
		t.Fatalf("orphan sweep removed %d (%v)", n, err)
	}
	// Deleting the message removes the file's row.
	f.Must(t, 204, w.member.Token, "DELETE", "/api/channels/"+general+"/messages/"+m.ID, nil)
	if _, err := f.DB.Attachment(t.Context(), w.member.ID, att.ID); err == nil {
		t.Fatal("the attachment outlived its message")
	}
}

func TestSendLimit(t *testing.T) {
	f := serveWith(t, ratelimit.Send(2, 2))
	w := newWorld(t, f, store.VisibilityPublic)
	general := channelsOf(t, f, w.member.Token, w.id)[0].ID
	for i := 0; i < 2; i++ {
		if st, _ := send(t, f, w.member.Token, general, fmt.Sprintf("l%d", i), "hi"); st != 201 {
			t.Fatalf("send %d: %d", i, st)
		}
	}
	st, raw := f.Call(t, w.member.Token, "POST", "/api/channels/"+general+"/messages", map[string]string{"clientMessageId": "l3", "content": "hi"})
	if st != 429 || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != "rate_limited" {
		t.Fatalf("over the limit: %d %s", st, raw)
	}
	var n int
	if err := f.DB.Pool.QueryRow(t.Context(), `select count(*) from channel_messages where channel_id = $1`, general).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d stored (%v)", n, err)
	}
}
