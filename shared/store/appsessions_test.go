package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// sessionFixture: a group owned by owner with member, its agent, and a free
// published app both users installed.
type sessionFixture struct {
	db                           *store.DB
	owner, member, outsider, dev string
	conv, agent, app             string
}

func newSessionFixture(t *testing.T) sessionFixture {
	t.Helper()
	db := testenv.DB(t)
	ctx := context.Background()
	f := sessionFixture{db: db, owner: testenv.NewUser(t, db, "owner").ID, member: testenv.NewUser(t, db, "member").ID,
		outsider: testenv.NewUser(t, db, "outsider").ID, dev: testenv.NewUser(t, db, "dev").ID}
	if _, err := db.OpenDeveloperAccount(ctx, f.dev, "Dev", nil); err != nil {
		t.Fatal(err)
	}
	f.app = publishedApp(t, db, f.dev, 0)
	for i, u := range []string{f.owner, f.member, f.outsider} {
		if _, _, err := db.InstallApp(ctx, u, f.app, fmt.Sprint("k", i)); err != nil {
			t.Fatal(err)
		}
	}
	f.conv = apitest.Conversation(t, db, "group", f.owner, f.member)
	f.agent = apitest.Agent(t, db, f.owner, "Helper"+testenv.RandomID(4), "private")
	if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, f.conv, f.agent); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAppSessionLifecycle(t *testing.T) {
	f := newSessionFixture(t)
	db, ctx := f.db, context.Background()

	// Who may open what.
	if _, _, err := db.OpenAppSession(ctx, f.outsider, f.conv, store.NewAppSession{AppID: f.app, Mode: "shared", AgentID: &f.agent}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outsider opens: %v", err)
	}
	if _, _, err := db.OpenAppSession(ctx, f.member, "no-such-conversation", store.NewAppSession{AppID: f.app, Mode: "user_only"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown conversation: %v", err)
	}
	if _, _, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: "no-such-app", Mode: "user_only"}); !errors.Is(err, store.ErrNotInstalled) {
		t.Fatalf("unknown app: %v", err)
	}
	other := publishedApp(t, db, f.dev, 0)
	if _, _, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: other, Mode: "user_only"}); !errors.Is(err, store.ErrNotInstalled) {
		t.Fatalf("not installed: %v", err)
	}
	stranger := apitest.Agent(t, db, f.owner, "Stranger"+testenv.RandomID(4), "private")
	if _, _, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: f.app, Mode: "shared", AgentID: &stranger}); !errors.Is(err, store.ErrAgentNotMember) {
		t.Fatalf("agent not in the conversation: %v", err)
	}

	s, users, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: f.app, Mode: "shared", AgentID: &f.agent})
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != 1 || string(s.State) != "{}" || s.Mode != "shared" || s.OpenedBy == nil || *s.OpenedBy != f.member ||
		s.AgentID == nil || *s.AgentID != f.agent || s.EntryURL != "https://apps.example/" || s.AppVersion != "1" || s.EndedAt != nil {
		t.Fatalf("opened %+v", s)
	}
	if len(users) != 2 {
		t.Fatalf("users to tell: %v", users)
	}
	if _, _, err := db.OpenAppSession(ctx, f.owner, f.conv, store.NewAppSession{AppID: f.app, Mode: "user_only"}); !errors.Is(err, store.ErrSessionOpen) {
		t.Fatalf("second open: %v", err)
	}

	// Reads are scoped to members.
	if _, err := db.AppSessionFor(ctx, f.outsider, s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outsider reads: %v", err)
	}
	if _, err := db.ConversationAppSessions(ctx, f.outsider, f.conv); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outsider lists: %v", err)
	}
	if l, err := db.ConversationAppSessions(ctx, f.owner, f.conv); err != nil || len(l) != 1 || l[0].ID != s.ID {
		t.Fatalf("owner lists %v %v", l, err)
	}
	if l, err := db.OpenAppSessionsFor(ctx, f.outsider, store.MaxSyncAppSessions); err != nil || len(l) != 0 {
		t.Fatalf("outsider's open sessions %v %v", l, err)
	}

	// State: the right version wins, a stale one gets the current session.
	if _, _, err := db.UpdateAppSessionState(ctx, f.outsider, s.ID, 1, json.RawMessage(`{"x":1}`)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outsider writes: %v", err)
	}
	// A second app's session, opened later: sync lists the most recently
	// changed sessions, so with room for one, the one changed next wins.
	second := publishedApp(t, db, f.dev, 0)
	if _, _, err := db.InstallApp(ctx, f.member, second, "k-second"); err != nil {
		t.Fatal(err)
	}
	later, _, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: second, Mode: "user_only"})
	if err != nil {
		t.Fatal(err)
	}
	if l, err := db.OpenAppSessionsFor(ctx, f.owner, 1); err != nil || len(l) != 1 || l[0].ID != later.ID {
		t.Fatalf("newest open session %v %v", l, err)
	}
	u, _, err := db.UpdateAppSessionState(ctx, f.owner, s.ID, 1, json.RawMessage(`{"board":"e4"}`))
	if err != nil || u.Version != 2 || string(u.State) != `{"board": "e4"}` {
		t.Fatalf("update: %+v %v", u, err)
	}
	if l, err := db.OpenAppSessionsFor(ctx, f.owner, 1); err != nil || len(l) != 1 || l[0].ID != s.ID {
		t.Fatalf("most recently changed open session %v %v", l, err)
	}
	if l, err := db.OpenAppSessionsFor(ctx, f.member, store.MaxSyncAppSessions); err != nil || len(l) != 2 || l[0].ID != s.ID || l[1].ID != later.ID {
		t.Fatalf("open sessions %v %v", l, err)
	}
	if _, _, _, err := db.EndAppSession(ctx, f.member, later.ID); err != nil {
		t.Fatal(err)
	}
	cur, users, err := db.UpdateAppSessionState(ctx, f.member, s.ID, 1, json.RawMessage(`{"board":"d4"}`))
	if !errors.Is(err, store.ErrStaleVersion) || cur.Version != 2 || string(cur.State) != `{"board": "e4"}` || users != nil {
		t.Fatalf("stale: %+v %v %v", cur, users, err)
	}

	// Ending: not an ordinary member who did not open it; the opener may.
	if _, _, _, err := db.EndAppSession(ctx, f.outsider, s.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("outsider ends: %v", err)
	}
	s2, _, err := db.OpenAppSession(ctx, f.owner, apitest.Conversation(t, db, "group", f.owner, f.member), store.NewAppSession{AppID: f.app, Mode: "user_only"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.EndAppSession(ctx, f.member, s2.ID); !errors.Is(err, store.ErrNotAllowed) {
		t.Fatalf("a member ends the owner's session: %v", err)
	}
	e, users, ended, err := db.EndAppSession(ctx, f.member, s.ID)
	if err != nil || !ended || e.EndedAt == nil || e.EndedBy == nil || *e.EndedBy != f.member || len(users) != 2 {
		t.Fatalf("opener ends: %+v %v %v %v", e, users, ended, err)
	}
	if _, users, ended, err := db.EndAppSession(ctx, f.member, s.ID); err != nil || ended || users != nil {
		t.Fatalf("second end: %v %v %v", users, ended, err)
	}
	if _, _, err := db.UpdateAppSessionState(ctx, f.owner, s.ID, 2, json.RawMessage(`{}`)); !errors.Is(err, store.ErrSessionEnded) {
		t.Fatalf("write after end: %v", err)
	}
	if l, err := db.ConversationAppSessions(ctx, f.owner, f.conv); err != nil || len(l) != 0 {
		t.Fatalf("open after end %v %v", l, err)
	}
	// The owner ends what a member opened; then the app opens again.
	s3, _, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: f.app, Mode: "user_only"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ended, err := db.EndAppSession(ctx, f.owner, s3.ID); err != nil || !ended {
		t.Fatalf("owner ends: %v %v", ended, err)
	}
}

// TestAppSessionConcurrentWrites: many writers race with the same version,
// round after round; exactly one wins each round and the version counts the
// wins.
func TestAppSessionConcurrentWrites(t *testing.T) {
	f := newSessionFixture(t)
	db, ctx := f.db, context.Background()
	s, _, err := db.OpenAppSession(ctx, f.member, f.conv, store.NewAppSession{AppID: f.app, Mode: "user_only"})
	if err != nil {
		t.Fatal(err)
	}
	const rounds, writers = 10, 8
	for round := int64(1); round <= rounds; round++ {
		var wg sync.WaitGroup
		results := make([]error, writers)
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := f.owner
				if i%2 == 1 {
					u = f.member
				}
				_, _, results[i] = db.UpdateAppSessionState(ctx, u, s.ID, round, json.RawMessage(fmt.Sprintf(`{"writer":%d}`, i)))
			}()
		}
		wg.Wait()
		won, stale := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrStaleVersion):
				stale++
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 || stale != writers-1 {
			t.Fatalf("round %d: %d won, %d stale", round, won, stale)
		}
	}
	got, err := db.AppSessionFor(ctx, f.owner, s.ID)
	if err != nil || got.Version != rounds+1 {
		t.Fatalf("after %d rounds: version %d, %v", rounds, got.Version, err)
	}
}
