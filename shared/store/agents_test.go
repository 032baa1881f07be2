package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

func ptr[T any](v T) *T { return &v }

func newAgent(t *testing.T, db *store.DB, ownerID, name, visibility string) (ari.Agent, string) {
	t.Helper()
	token, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAgent(context.Background(), ownerID, store.AgentFields{Name: &name, Visibility: &visibility},
		[]ari.Skill{{Name: "echo"}}, hash, hint)
	if err != nil {
		t.Fatal(err)
	}
	return a, token
}

func TestAgentTokenLifecycle(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "tok-owner")
	a, token := newAgent(t, db, u.ID, "Echo Bot!", ari.VisibilityPrivate)
	if a.Handle != "echo-bot" || a.TokenHint != "ari_…"+token[len(token)-4:] {
		t.Fatalf("handle %q hint %q", a.Handle, a.TokenHint)
	}
	got, err := db.AgentByToken(ctx, token)
	if err != nil || got.ID != a.ID {
		t.Fatalf("AgentByToken = %v, %v", got.ID, err)
	}
	for _, bad := range []string{"", "ari_", token[:len(token)-1], token + "0", "ari_" + string(make([]byte, 48))} {
		if _, err := db.AgentByToken(ctx, bad); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("AgentByToken(%q) = %v, want not found", bad, err)
		}
	}
	if _, err := db.AgentByTokenHash(ctx, ari.HashAgentToken("ari_"+testenv.RandomID(24))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown hash: %v", err)
	}

	// A stranger cannot rotate it; the owner can, and the old token dies at once.
	other := testenv.NewUser(t, db, "tok-stranger")
	newToken, hash, hint, _ := ari.NewAgentToken()
	if _, err := db.SetAgentToken(ctx, other.ID, a.ID, hash, hint); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger rotated the token: %v", err)
	}
	if _, err := db.SetAgentToken(ctx, u.ID, a.ID, hash, hint); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AgentByToken(ctx, token); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("old token still accepted: %v", err)
	}
	if got, err := db.AgentByToken(ctx, newToken); err != nil || got.ID != a.ID {
		t.Fatalf("new token: %v %v", got.ID, err)
	}
}

func TestAgentRelayWrites(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "relay-owner")
	a, _ := newAgent(t, db, u.ID, "relay", ari.VisibilityPrivate)
	skills := []ari.Skill{{Name: "time", Description: "tells the time"}, {Name: "echo"}}
	if err := db.SetAgentSkills(ctx, a.ID, skills); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAgentSkills(ctx, "nope", skills); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown agent: %v", err)
	}
	later := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	if err := db.TouchAgentLastSeen(ctx, a.ID, later); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchAgentLastSeen(ctx, a.ID, later.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := db.VisibleAgent(ctx, u.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Skills) != 2 || got.Skills[0] != skills[0] || got.Skills[1] != skills[1] {
		t.Fatalf("skills = %+v", got.Skills)
	}
	if got.LastSeenAt == nil || !got.LastSeenAt.Equal(later) {
		t.Fatalf("last seen moved backwards or was lost: %v, want %v", got.LastSeenAt, later)
	}
}

func TestVisibleAgentScoping(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	owner := testenv.NewUser(t, db, "vis-owner")
	other := testenv.NewUser(t, db, "vis-other")
	priv, _ := newAgent(t, db, owner.ID, "private one", ari.VisibilityPrivate)
	pub, _ := newAgent(t, db, owner.ID, "public one", ari.VisibilityPublic)
	if _, err := db.VisibleAgent(ctx, other.ID, priv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("private agent visible to a stranger: %v", err)
	}
	if _, err := db.VisibleAgent(ctx, other.ID, pub.ID); err != nil {
		t.Fatalf("public agent: %v", err)
	}
	if _, err := db.UpdateAgent(ctx, other.ID, pub.ID, store.AgentFields{Name: ptr("hijack")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger updated: %v", err)
	}
	if err := db.DeleteAgent(ctx, other.ID, pub.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger deleted: %v", err)
	}
	if _, err := db.AgentStats(ctx, other.ID, pub.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger stats: %v", err)
	}
	up, err := db.UpdateAgent(ctx, owner.ID, pub.ID, store.AgentFields{Name: ptr("Renamed  Agent"), AvatarURL: ptr("")})
	if err != nil || up.Handle != "renamed-agent" || up.AvatarURL != nil {
		t.Fatalf("update = %+v, %v", up, err)
	}
}

var seed = apitest.SeedMessage

func TestAgentStatsAndHistory(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "stats-owner")
	a, _ := newAgent(t, db, u.ID, "stats", ari.VisibilityPrivate)
	conv, err := db.CreateDirectConversation(ctx, u.ID, a.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	at := func(d time.Duration) *time.Time { v := base.Add(d); return &v }
	// Five replies with first chunks after 100..500 ms; three complete after
	// 1, 2 and 4 s; one error; one cancelled; plus one still streaming.
	type reply struct {
		status     string
		firstChunk int
		done       int
	}
	replies := []reply{
		{ari.StatusComplete, 100, 1000}, {ari.StatusComplete, 200, 2000}, {ari.StatusComplete, 300, 4000},
		{ari.StatusError, 400, 4500}, {ari.StatusCancelled, 500, 5000}, {ari.StatusStreaming, 0, 0},
	}
	var ids []string
	for i, r := range replies {
		created := base.Add(time.Duration(i) * time.Minute)
		seed(t, db, conv.ID, ari.RoleUser, &u.ID, nil, "question", ari.StatusComplete, created, nil, nil)
		var fc, done *time.Time
		if r.firstChunk > 0 {
			fc, done = at(time.Duration(i)*time.Minute+ms(r.firstChunk)), at(time.Duration(i)*time.Minute+ms(r.done))
		}
		ids = append(ids, seed(t, db, conv.ID, ari.RoleAgent, nil, &a.ID, "answer", r.status, created, fc, done))
	}
	s, err := db.AgentStats(ctx, u.ID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.Conversations != 1 || s.Messages != 12 {
		t.Errorf("conversations %d messages %d, want 1 and 12", s.Conversations, s.Messages)
	}
	if s.Replies != (ari.ReplyOutcomes{Completed: 3, Errored: 1, Cancelled: 1, InFlight: 1}) {
		t.Errorf("replies = %+v", s.Replies)
	}
	// percentile_cont interpolates: p95 of 100..500 is 400 + 0.8*100.
	near := func(name string, got *float64, want float64) {
		if got == nil || *got < want-0.01 || *got > want+0.01 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	near("first chunk median", s.FirstChunkMs.Median, 300)
	near("first chunk p95", s.FirstChunkMs.P95, 480)
	near("completion median", s.CompletionMs.Median, 2000)
	near("completion p95", s.CompletionMs.P95, 3800)

	// History: newest first, every reply exactly once across pages of 4.
	var seen []string
	var after *store.AgentTaskCursor
	for range 5 {
		page, err := db.AgentHistory(ctx, u.ID, a.ID, after, 4)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page {
			seen = append(seen, k.MessageID)
		}
		if len(page) < 4 {
			break
		}
		last := page[len(page)-1]
		after = &store.AgentTaskCursor{CreatedAt: last.CreatedAt.Time, ID: last.MessageID}
	}
	if len(seen) != len(ids) {
		t.Fatalf("history has %d tasks, want %d", len(seen), len(ids))
	}
	for i := range ids {
		if seen[i] != ids[len(ids)-1-i] {
			t.Fatalf("history order %v, want reverse of %v", seen, ids)
		}
	}
	first, _ := db.AgentHistory(ctx, u.ID, a.ID, nil, 10)
	if k := first[len(first)-1]; k.Status != ari.StatusComplete || k.FirstChunkMs == nil || *k.FirstChunkMs != 100 || *k.DurationMs != 1000 {
		t.Errorf("oldest task = %+v", k)
	}
	stranger := testenv.NewUser(t, db, "stats-stranger")
	if got, err := db.AgentHistory(ctx, stranger.ID, a.ID, nil, 10); err != nil || len(got) != 0 {
		t.Errorf("stranger sees history: %d, %v", len(got), err)
	}
}
