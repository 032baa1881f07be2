package store_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/jackc/pgx/v5"
)

// attachmentMessage inserts a conversation with one message by userID.
func attachmentMessage(t *testing.T, db *store.DB, userID string) string {
	t.Helper()
	ctx := context.Background()
	var convID, msgID string
	if err := db.Pool.QueryRow(ctx, `insert into conversations (kind, created_by, last_seq) values ('direct', $1, 1) returning id`, userID).Scan(&convID); err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(ctx, `insert into messages (conversation_id, seq, role, sender_user_id, content)
		values ($1, 1, 'user', $2, 'with files') returning id`, convID, userID).Scan(&msgID); err != nil {
		t.Fatal(err)
	}
	return msgID
}

func newAttachment(t *testing.T, db *store.DB, ownerID, status string) ari.Attachment {
	t.Helper()
	a, err := db.CreateAttachment(context.Background(), ari.Attachment{
		OwnerID: ownerID, StorageKey: "u/" + ownerID + "/" + testenv.RandomID(8) + ".png",
		Name: "photo.png", ContentType: "image/png", Size: 10, Status: status,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func claim(db *store.DB, owner, msg string, ids ...string) ([]ari.Attachment, error) {
	var got []ari.Attachment
	err := db.Tx(context.Background(), func(tx pgx.Tx) error {
		var err error
		got, err = store.ClaimAttachments(context.Background(), tx, owner, msg, ids)
		return err
	})
	return got, err
}

func attachedTo(t *testing.T, db *store.DB, id string) *string {
	t.Helper()
	var m *string
	if err := db.Pool.QueryRow(context.Background(), `select message_id from attachments where id = $1`, id).Scan(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestClaimAttachmentsAllOrNothing(t *testing.T) {
	db := testenv.DB(t)
	alice := testenv.NewUser(t, db, "alice")
	bob := testenv.NewUser(t, db, "bob")
	msg := attachmentMessage(t, db, alice.ID)
	mine1 := newAttachment(t, db, alice.ID, ari.AttachmentReady)
	mine2 := newAttachment(t, db, alice.ID, ari.AttachmentReady)
	pending := newAttachment(t, db, alice.ID, ari.AttachmentPending)
	foreign := newAttachment(t, db, bob.ID, ari.AttachmentReady)

	for name, ids := range map[string][]string{
		"foreign id":   {mine1.ID, foreign.ID},
		"unknown id":   {mine1.ID, "no-such-id"},
		"pending":      {mine1.ID, pending.ID},
		"listed twice": {mine1.ID, mine1.ID},
	} {
		_, err := claim(db, alice.ID, msg, ids...)
		if err == nil {
			t.Fatalf("%s: claim succeeded", name)
		}
		if c := ari.ErrorCode(err); c != ari.CodeNotFound && c != ari.CodeInvalid {
			t.Fatalf("%s: error %v has code %s", name, err, c)
		}
		// Nothing changed: not even the usable id in the list was attached.
		if m := attachedTo(t, db, mine1.ID); m != nil {
			t.Fatalf("%s: %s attached to %s after a refused claim", name, mine1.ID, *m)
		}
	}
	if m := attachedTo(t, db, foreign.ID); m != nil {
		t.Fatal("foreign attachment was attached")
	}
	if _, err := claim(db, alice.ID, msg, foreign.ID); !errors.Is(err, store.ErrAttachmentUnusable) {
		t.Fatalf("claiming bob's file: %v, want ErrAttachmentUnusable", err)
	}

	got, err := claim(db, alice.ID, msg, mine2.ID, mine1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != mine2.ID || got[1].ID != mine1.ID || *got[0].MessageID != msg || got[0].AttachedAt == nil {
		t.Fatalf("claimed %+v", got)
	}
	// Once attached, a file cannot go on another message.
	other := attachmentMessage(t, db, alice.ID)
	if _, err := claim(db, alice.ID, other, mine1.ID); !errors.Is(err, store.ErrAttachmentUnusable) {
		t.Fatalf("claiming an attached file again: %v", err)
	}

	byMsg, err := db.AttachmentsForMessages(context.Background(), []string{msg, other})
	if err != nil {
		t.Fatal(err)
	}
	if len(byMsg[msg]) != 2 || len(byMsg[other]) != 0 {
		t.Fatalf("AttachmentsForMessages = %+v", byMsg)
	}

	keys, err := db.DeleteMessageAttachments(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{mine1.StorageKey, mine2.StorageKey}
	sort.Strings(keys)
	sort.Strings(want)
	if !slices.Equal(keys, want) {
		t.Fatalf("deleted keys %v, want %v", keys, want)
	}
	if _, err := db.Attachment(context.Background(), alice.ID, mine1.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("row kept after its message's attachments were deleted: %v", err)
	}
}

// Two sends racing for the same file: exactly one gets it.
func TestClaimAttachmentsRace(t *testing.T) {
	db := testenv.DB(t)
	u := testenv.NewUser(t, db, "racer")
	a := newAttachment(t, db, u.ID, ari.AttachmentReady)
	msgs := []string{attachmentMessage(t, db, u.ID), attachmentMessage(t, db, u.ID)}
	var wg sync.WaitGroup
	errs := make([]error, len(msgs))
	for i, m := range msgs {
		wg.Go(func() { _, errs[i] = claim(db, u.ID, m, a.ID) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrAttachmentUnusable):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d sends got the file", won)
	}
}

func TestAttachmentScopedToOwner(t *testing.T) {
	db := testenv.DB(t)
	ctx := context.Background()
	alice := testenv.NewUser(t, db, "owner")
	bob := testenv.NewUser(t, db, "other")
	a := newAttachment(t, db, alice.ID, ari.AttachmentPending)
	if _, err := db.Attachment(ctx, bob.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob reads alice's attachment: %v", err)
	}
	if _, err := db.MarkAttachmentReady(ctx, bob.ID, a.ID, "u/x/y.png", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob completes alice's attachment: %v", err)
	}
	if _, err := db.DeleteUnattachedAttachment(ctx, bob.ID, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("bob deletes alice's attachment: %v", err)
	}
	key := "u/" + alice.ID + "/final.png" // unique: the package database outlives one -count
	ready, err := db.MarkAttachmentReady(ctx, alice.ID, a.ID, key, "http://x/y")
	if err != nil || ready.Status != ari.AttachmentReady || ready.StorageKey != key || ready.URL != "http://x/y" {
		t.Fatalf("MarkAttachmentReady = %+v, %v", ready, err)
	}
	if _, err := db.MarkAttachmentReady(ctx, alice.ID, a.ID, key, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("completing twice: %v", err)
	}
}

func TestCleanupOrphanAttachments(t *testing.T) {
	db, _ := testenv.FreshDB(t)
	ctx := context.Background()
	u := testenv.NewUser(t, db, "cleaner")
	msg := attachmentMessage(t, db, u.ID)
	oldOrphan := newAttachment(t, db, u.ID, ari.AttachmentReady)
	oldPending := newAttachment(t, db, u.ID, ari.AttachmentPending)
	oldAttached := newAttachment(t, db, u.ID, ari.AttachmentReady)
	fresh := newAttachment(t, db, u.ID, ari.AttachmentReady)
	if _, err := claim(db, u.ID, msg, oldAttached.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update attachments set created_at = now() - interval '2 days' where id = any($1)`,
		[]string{oldOrphan.ID, oldPending.ID, oldAttached.ID}); err != nil {
		t.Fatal(err)
	}

	// A failing object delete keeps the rows for the next run.
	boom := errors.New("storage down")
	if _, err := db.CleanupOrphanAttachments(ctx, time.Now().Add(-24*time.Hour), func(context.Context, string) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("cleanup with failing storage: %v", err)
	}
	if _, err := db.Attachment(ctx, u.ID, oldOrphan.ID); err != nil {
		t.Fatalf("row lost although its object was not deleted: %v", err)
	}

	var deleted []string
	n, err := db.CleanupOrphanAttachments(ctx, time.Now().Add(-24*time.Hour), func(_ context.Context, key string) error {
		deleted = append(deleted, key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{oldOrphan.StorageKey, oldPending.StorageKey}
	sort.Strings(deleted)
	sort.Strings(want)
	if n != 2 || !slices.Equal(deleted, want) {
		t.Fatalf("cleanup removed %d, keys %v; want %v", n, deleted, want)
	}
	for _, keep := range []ari.Attachment{oldAttached, fresh} {
		if _, err := db.Attachment(ctx, u.ID, keep.ID); err != nil {
			t.Fatalf("cleanup removed %s: %v", keep.ID, err)
		}
	}
}
