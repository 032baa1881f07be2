package communities

import (
	"slices"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// mentionLog records what the route hands to push (shared/pushtrigger's own
// tests send and decrypt real pushes).
type mentionLog struct {
	mu  sync.Mutex
	got []pushtrigger.ChannelMention
}

func (l *mentionLog) ChannelMention(m pushtrigger.ChannelMention) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, m)
	return true
}

// A REST send that @mentions members hands exactly them to push, once (a
// retry hands nothing); one that mentions nobody hands nothing. Their
// channel lists count the mention; muting a channel or the community is
// stored per member, shown on the channel and community, and leaves the
// count alone.
func TestMentionsAndMuteOverREST(t *testing.T) {
	e := apitest.New(t)
	log := &mentionLog{}
	f := e.Serve(t, New(Deps{DB: e.DB, Auth: e.Auth, Push: log}))
	w := newWorld(t, f, store.VisibilityPublic)
	ada := testenv.NewUser(t, f.DB, "Ada Lovelace")
	w.add(t, f, ada.ID)
	general := channelsOf(t, f, w.member.Token, w.id)[0].ID

	if st, _ := send(t, f, w.admin.Token, general, "n1", "nobody here"); st != 201 {
		t.Fatal(st)
	}
	st, m := send(t, f, w.admin.Token, general, "n2", "@ada-lovelace and @member: look")
	if st != 201 {
		t.Fatal(st)
	}
	if st, _ := send(t, f, w.admin.Token, general, "n2", "@ada-lovelace and @member: look"); st != 200 {
		t.Fatalf("retry: %d", st)
	}
	if len(log.got) != 1 || log.got[0].MessageID != m.ID || log.got[0].ChannelID != general || log.got[0].SenderName != "admin" {
		t.Fatalf("handed to push: %+v", log.got)
	}
	ids := slices.Clone(log.got[0].UserIDs)
	slices.Sort(ids)
	want := []string{ada.ID, w.member.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("mentioned %v, want %v", ids, want)
	}
	for _, u := range []testenv.TestUser{ada, w.member} {
		if l := channelsOf(t, f, u.Token, w.id); l[0].MentionCount != 1 || l[0].Muted {
			t.Fatalf("%s: %+v", u.Name, l[0])
		}
	}
	if l := channelsOf(t, f, w.owner.Token, w.id); l[0].MentionCount != 0 {
		t.Fatalf("owner: %+v", l[0])
	}

	// Mute: per member, shown, set both ways; bad bodies change nothing.
	if got := apitest.Decode[MuteResponse](t, f.Must(t, 200, ada.Token, "PUT", "/api/channels/"+general+"/mute", map[string]bool{"muted": true})); !got.Muted {
		t.Fatal("channel mute not stored")
	}
	if got := apitest.Decode[MuteResponse](t, f.Must(t, 200, ada.Token, "PUT", "/api/communities/"+w.id+"/mute", map[string]bool{"muted": true})); !got.Muted {
		t.Fatal("community mute not stored")
	}
	for _, p := range []string{"/api/channels/" + general + "/mute", "/api/communities/" + w.id + "/mute"} {
		for _, body := range []any{map[string]any{}, map[string]any{"muted": "yes"}, map[string]any{"muted": nil}} {
			if st, raw := f.Call(t, ada.Token, "PUT", p, body); st != 400 {
				t.Errorf("PUT %s %v: %d %s", p, body, st, raw)
			}
		}
	}
	if l := channelsOf(t, f, ada.Token, w.id); !l[0].Muted || l[0].MentionCount != 1 {
		t.Fatalf("ada's channel after muting: %+v", l[0])
	}
	if c := apitest.Decode[ari.Community](t, f.Must(t, 200, ada.Token, "GET", "/api/communities/"+w.id, nil)); !c.Muted {
		t.Fatalf("community after muting: %+v", c)
	}
	if l := channelsOf(t, f, w.member.Token, w.id); l[0].Muted {
		t.Fatal("another member's channel is muted")
	}
	if got := apitest.Decode[MuteResponse](t, f.Must(t, 200, ada.Token, "PUT", "/api/channels/"+general+"/mute", map[string]bool{"muted": false})); got.Muted {
		t.Fatal("unmute not stored")
	}

	// Reading past the mention clears the count.
	f.Must(t, 200, ada.Token, "POST", "/api/channels/"+general+"/read", map[string]int64{"seq": m.Seq})
	if l := channelsOf(t, f, ada.Token, w.id); l[0].MentionCount != 0 {
		t.Fatalf("after reading: %+v", l[0])
	}
}
