package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestNotificationPrefsDefaultsAndRoundTrip(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "prefs")
	got, err := db.NotificationPrefs(ctx, u.ID)
	if err != nil || got != ari.DefaultNotificationPreferences() {
		t.Fatalf("no row: %+v %v, want defaults", got, err)
	}
	want := ari.NotificationPreferences{Enabled: true, QuietStart: "22:30", QuietEnd: "07:00", TimeZone: "Asia/Tokyo",
		AgentReplies: false, GroupMessages: true, Mentions: false, Preview: false}
	if err := db.PutNotificationPrefs(ctx, u.ID, want); err != nil {
		t.Fatal(err)
	}
	if got, err := db.NotificationPrefs(ctx, u.ID); err != nil || got != want {
		t.Fatalf("round trip: %+v %v, want %+v", got, err, want)
	}
	// Clearing quiet hours stores NULLs, read back as empty.
	want.QuietStart, want.QuietEnd = "", ""
	if err := db.PutNotificationPrefs(ctx, u.ID, want); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.NotificationPrefs(ctx, u.ID); got != want {
		t.Fatalf("cleared: %+v", got)
	}
	// The table refuses a malformed time even if a caller skipped Validate.
	bad := want
	bad.QuietStart, bad.QuietEnd = "25:00", "07:00"
	if err := db.PutNotificationPrefs(ctx, u.ID, bad); !store.IsCheckViolation(err) {
		t.Fatalf("bad time stored: %v", err)
	}
}

func TestNotifyTargets(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	ann := testenv.NewUser(t, db, "nt-ann")
	bob := testenv.NewUser(t, db, "nt-bob")
	cy := testenv.NewUser(t, db, "nt-cy")
	var conv string
	if err := db.Pool.QueryRow(ctx, `insert into conversations (kind, title, created_by) values ('group', 'Trip', $1) returning id`, ann.ID).Scan(&conv); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		id    string
		muted bool
	}{{ann.ID, false}, {bob.ID, true}, {cy.ID, false}} {
		if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, user_id, muted) values ($1, $2, $3)`, conv, m.id, m.muted); err != nil {
			t.Fatal(err)
		}
	}
	cyPrefs := ari.DefaultNotificationPreferences()
	cyPrefs.Preview = false
	cyPrefs.QuietStart, cyPrefs.QuietEnd, cyPrefs.TimeZone = "22:00", "07:00", "Europe/Berlin"
	if err := db.PutNotificationPrefs(ctx, cy.ID, cyPrefs); err != nil {
		t.Fatal(err)
	}

	c, targets, err := db.NotifyTargets(ctx, conv, ann.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kind != "group" || c.Title != "Trip" {
		t.Errorf("conversation %+v", c)
	}
	if len(targets) != 2 || targets[0].UserID != bob.ID || targets[1].UserID != cy.ID {
		t.Fatalf("targets %+v, want bob and cy (sender excluded)", targets)
	}
	if !targets[0].Muted || targets[0].Prefs != ari.DefaultNotificationPreferences() {
		t.Errorf("bob: %+v", targets[0])
	}
	if targets[1].Muted || targets[1].Prefs != cyPrefs {
		t.Errorf("cy: %+v, want prefs %+v", targets[1], cyPrefs)
	}
	if _, all, err := db.NotifyTargets(ctx, conv, ""); err != nil || len(all) != 3 {
		t.Errorf("no exclusion: %d targets, %v", len(all), err)
	}
	if _, _, err := db.NotifyTargets(ctx, "no-such-conversation", ""); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown conversation: %v", err)
	}
}
