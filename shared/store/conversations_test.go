package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

func TestConversationReadMarksAndUnread(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "read-user")
	a, _ := newAgent(t, db, u.ID, "reader", ari.VisibilityPrivate)
	c, err := db.CreateDirectConversation(ctx, u.ID, a.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	seed(t, db, c.ID, ari.RoleUser, &u.ID, nil, "mine", ari.StatusComplete, now, nil, nil)         // 1
	seed(t, db, c.ID, ari.RoleAgent, nil, &a.ID, "one", ari.StatusComplete, now, nil, nil)         // 2
	seed(t, db, c.ID, ari.RoleAgent, nil, &a.ID, "two", ari.StatusComplete, now, nil, nil)         // 3
	del := seed(t, db, c.ID, ari.RoleAgent, nil, &a.ID, "gone", ari.StatusComplete, now, nil, nil) // 4
	long := strings.Repeat("é", 300)
	seed(t, db, c.ID, ari.RoleAgent, nil, &a.ID, long, ari.StatusComplete, now, nil, nil) // 5
	if _, err := db.Pool.Exec(ctx, `update messages set deleted_at = now(), content = '' where id = $1`, del); err != nil {
		t.Fatal(err)
	}
	got, err := db.ConversationFor(ctx, u.ID, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Unread: not mine (1), not deleted (4): 2, 3 and 5.
	if got.UnreadCount != 3 || got.LastSeq != 5 {
		t.Fatalf("unread %d lastSeq %d, want 3 and 5", got.UnreadCount, got.LastSeq)
	}
	if got.LastMessage == nil || got.LastMessage.Seq != 5 || got.LastMessage.Content != long[:2*ari.PreviewLength] {
		t.Fatalf("preview = %+v", got.LastMessage)
	}
	if len(got.Agents) != 1 || got.Agents[0].ID != a.ID || got.Agents[0].Handle != "reader" {
		t.Fatalf("agents = %+v", got.Agents)
	}

	if mark, moved, err := db.MarkConversationRead(ctx, u.ID, c.ID, 3); err != nil || mark != 3 || !moved {
		t.Fatalf("read 3 = %d %v %v", mark, moved, err)
	}
	if mark, moved, err := db.MarkConversationRead(ctx, u.ID, c.ID, 1); err != nil || mark != 3 || moved {
		t.Fatalf("read 1 after 3 = %d %v %v (must not move backwards)", mark, moved, err)
	}
	if _, _, err := db.MarkConversationRead(ctx, u.ID, c.ID, 6); !errors.Is(err, store.ErrSeqAhead) {
		t.Fatalf("read past last seq: %v", err)
	}
	stranger := testenv.NewUser(t, db, "read-stranger")
	if _, _, err := db.MarkConversationRead(ctx, stranger.ID, c.ID, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger read: %v", err)
	}
	got, _ = db.ConversationFor(ctx, u.ID, c.ID)
	if got.UnreadCount != 1 || got.LastReadSeq != 3 {
		t.Fatalf("after read: unread %d lastRead %d", got.UnreadCount, got.LastReadSeq)
	}

	// The newest message deleted shows as a tombstone preview.
	if _, err := db.Pool.Exec(ctx, `update messages set deleted_at = now() where conversation_id = $1 and seq = 5`, c.ID); err != nil {
		t.Fatal(err)
	}
	got, _ = db.ConversationFor(ctx, u.ID, c.ID)
	if !got.LastMessage.Deleted || got.LastMessage.Content != "" {
		t.Fatalf("tombstone preview = %+v", got.LastMessage)
	}
}

func TestConversationListOrderAndScope(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "list-user")
	other := testenv.NewUser(t, db, "list-other")
	a, _ := newAgent(t, db, u.ID, "lister", ari.VisibilityPrivate)
	var ids []string
	for range 7 {
		c, err := db.CreateDirectConversation(ctx, u.ID, a.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	// The oldest conversation gets a message: it moves to the top.
	seed(t, db, ids[0], ari.RoleUser, &u.ID, nil, "bump", ari.StatusComplete, time.Now().Add(time.Minute), nil, nil)
	want := append([]string{ids[0]}, reversed(ids[1:])...)
	var seen []string
	var after *store.ConversationCursor
	for {
		page, err := db.ConversationsFor(ctx, u.ID, after, 3)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			seen = append(seen, c.ID)
		}
		if len(page) < 3 {
			break
		}
		last := page[len(page)-1]
		after = &store.ConversationCursor{Activity: last.Activity().Time, ID: last.ID}
	}
	if strings.Join(seen, ",") != strings.Join(want, ",") {
		t.Fatalf("order %v, want %v", seen, want)
	}
	if page, err := db.ConversationsFor(ctx, other.ID, nil, 10); err != nil || len(page) != 0 {
		t.Fatalf("stranger lists %d conversations (%v)", len(page), err)
	}
	if _, err := db.CreateDirectConversation(ctx, other.ID, a.ID, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("stranger started a conversation with a private agent: %v", err)
	}
}

func reversed(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[len(s)-1-i] = v
	}
	return out
}
