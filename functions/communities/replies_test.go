package communities

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// A REST send that @mentions agents: one pending reply per agent attached
// to the channel (in the order mentioned), in the channel's queue, and one
// notice for the relay; mentions of the community's other agents and of
// agents outside it start nothing, and a retry starts nothing more.
func TestChannelMentionQueuesAgentReplies(t *testing.T) {
	e := apitest.New(t)
	jobs := &relayjob.Client{Redis: e.Redis, Keys: e.Keys}
	f := e.Serve(t, New(Deps{DB: e.DB, Auth: e.Auth, Jobs: jobs}))
	w := newWorld(t, f, store.VisibilityPublic)
	general := channelsOf(t, f, w.member.Token, w.id)[0].ID
	base := "/api/communities/" + w.id
	attach := func(name string, inChannel bool) string {
		id := apitest.Agent(t, f.DB, w.owner.ID, name, "private")
		f.Must(t, 201, w.owner.Token, "POST", base+"/agents", map[string]string{"agentId": id})
		if inChannel {
			f.Must(t, 200, w.owner.Token, "POST", "/api/channels/"+general+"/agents", map[string]string{"agentId": id})
		}
		return id
	}
	alpha, beta := attach("Alpha", true), attach("Beta", true)
	attach("Gamma", false)
	apitest.Agent(t, f.DB, w.owner.ID, "Delta", "private")

	st, m := send(t, f, w.member.Token, general, "mention-1", "@beta @gamma @delta @ALPHA @beta bitte")
	if st != 201 {
		t.Fatalf("send: %d", st)
	}
	type row struct{ ID, Agent, ReplyTo, Status string }
	replies := func() []row {
		rows, err := f.DB.Pool.Query(t.Context(), `select id, agent_id, reply_to_id, status from channel_replies
			where channel_id = $1 order by queue_seq`, general)
		if err != nil {
			t.Fatal(err)
		}
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.ID, &r.Agent, &r.ReplyTo, &r.Status); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	got := replies()
	if len(got) != 2 || got[0].Agent != beta || got[1].Agent != alpha || got[0].ReplyTo != m.ID || got[0].Status != "pending" {
		t.Fatalf("replies = %+v (alpha %s, beta %s)", got, alpha, beta)
	}
	queue := e.Redis.LRange(t.Context(), e.Keys.ChannelQueue(general), 0, -1).Val()
	if !slices.Equal(queue, []string{got[0].ID, got[1].ID}) {
		t.Fatalf("queue = %v", queue)
	}
	raw := e.Redis.LRange(t.Context(), e.Keys.RelayJobs(), 0, -1).Val()
	if len(raw) != 1 {
		t.Fatalf("relay jobs = %v", raw)
	}
	var job relayjob.Job
	if err := json.Unmarshal([]byte(raw[0]), &job); err != nil || job.Kind != relayjob.KindChannelReplies || job.ChannelID != general || job.ID == "" {
		t.Fatalf("job = %+v (%v)", job, err)
	}

	// A retry, and a message mentioning only agents that may not answer here.
	if st, _ := send(t, f, w.member.Token, general, "mention-1", "@beta @gamma @delta @ALPHA @beta bitte"); st != 200 {
		t.Fatalf("retry: %d", st)
	}
	if st, _ := send(t, f, w.member.Token, general, "mention-2", "@gamma @delta hallo"); st != 201 {
		t.Fatalf("send: %d", st)
	}
	if n := len(replies()); n != 2 {
		t.Fatalf("%d replies after a retry and outsider mentions, want 2", n)
	}
	if n := e.Redis.LLen(t.Context(), e.Keys.RelayJobs()).Val(); n != 1 {
		t.Fatalf("%d relay jobs, want 1", n)
	}
}
