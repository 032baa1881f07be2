package uploadscleanup

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/storagetest"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/jackc/pgx/v5"
)

// upload stores an object and its attachment row, created age ago.
func upload(t *testing.T, db *store.DB, st storage.Store, ownerID string, age time.Duration) ari.Attachment {
	t.Helper()
	ctx := context.Background()
	key := "u/" + ownerID + "/" + testenv.RandomID(8) + ".txt"
	body := "orphan or not"
	if err := st.Put(ctx, key, strings.NewReader(body), int64(len(body)), "text/plain"); err != nil {
		t.Fatal(err)
	}
	a, err := db.CreateAttachment(ctx, ari.Attachment{OwnerID: ownerID, StorageKey: key, Name: "a.txt",
		ContentType: "text/plain", Size: int64(len(body)), Status: ari.AttachmentReady})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, `update attachments set created_at = $2 where id = $1`, a.ID, time.Now().Add(-age)); err != nil {
		t.Fatal(err)
	}
	return a
}

func attach(t *testing.T, db *store.DB, ownerID, attachmentID string) {
	t.Helper()
	ctx := context.Background()
	err := db.Tx(ctx, func(tx pgx.Tx) error {
		var conv, msg string
		if err := tx.QueryRow(ctx, `insert into conversations (kind, last_seq) values ('direct', 1) returning id`).Scan(&conv); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `insert into messages (conversation_id, seq, role, sender_user_id) values ($1, 1, 'user', $2) returning id`, conv, ownerID).Scan(&msg); err != nil {
			return err
		}
		_, err := store.ClaimAttachments(ctx, tx, ownerID, msg, []string{attachmentID})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// backends are the two stores the cleanup must work on: local files and a
// real S3 server (versitygw).
func backends(t *testing.T) map[string]storage.Store {
	t.Helper()
	local, err := storage.NewLocal(storage.LocalConfig{Dir: t.TempDir(), BaseURL: "http://127.0.0.1:1", Secret: []byte("cleanup-test-secret-0123456789abcdef")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	s3, err := storage.NewS3(storagetest.VersityGW(t))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]storage.Store{"local": local, "s3": s3}
}

func TestRunRemovesOldOrphansOnly(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db, _ := testenv.FreshDB(t)
			ctx := context.Background()
			u := testenv.NewUser(t, db, "cleanup")
			orphan := upload(t, db, st, u.ID, 48*time.Hour)
			attached := upload(t, db, st, u.ID, 48*time.Hour)
			attach(t, db, u.ID, attached.ID)
			recent := upload(t, db, st, u.ID, time.Hour)

			n, err := Run(ctx, Deps{DB: db, Storage: st, OlderThan: 24 * time.Hour})
			if err != nil || n.Attachments != 1 {
				t.Fatalf("Run = %d, %v; want 1 removed", n, err)
			}
			if _, err := st.Stat(ctx, orphan.StorageKey); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("orphan's object kept: %v", err)
			}
			if _, err := db.Attachment(ctx, u.ID, orphan.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("orphan's row kept: %v", err)
			}
			for _, keep := range []ari.Attachment{attached, recent} {
				if _, err := st.Stat(ctx, keep.StorageKey); err != nil {
					t.Fatalf("object of %s removed: %v", keep.ID, err)
				}
				if _, err := db.Attachment(ctx, u.ID, keep.ID); err != nil {
					t.Fatalf("row of %s removed: %v", keep.ID, err)
				}
			}
			// Running again finds nothing more.
			if n, err := Run(ctx, Deps{DB: db, Storage: st, OlderThan: 24 * time.Hour}); err != nil || n != (Removed{}) {
				t.Fatalf("second Run = %d, %v", n, err)
			}
		})
	}
}

// Stray incoming/ objects (no row names them: a PUT after the upload was
// completed or refused) go once they are older than a presigned link lives;
// younger ones and those of uploads still pending stay. On both backends.
func TestRunRemovesStrayIncomingObjects(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			db, _ := testenv.FreshDB(t)
			ctx := context.Background()
			u := testenv.NewUser(t, db, "strays")
			put := func(key string) {
				t.Helper()
				if err := st.Put(ctx, key, strings.NewReader("late"), 4, "text/plain"); err != nil {
					t.Fatal(err)
				}
			}
			stray := "incoming/" + u.ID + "/" + testenv.RandomID(8) + ".txt"
			put(stray)
			pending, err := db.CreateAttachment(ctx, ari.Attachment{OwnerID: u.ID, StorageKey: "incoming/" + u.ID + "/" + testenv.RandomID(8) + ".txt",
				Name: "p.txt", ContentType: "text/plain", Size: 4, Status: ari.AttachmentPending})
			if err != nil {
				t.Fatal(err)
			}
			put(pending.StorageKey)
			final := "u/" + u.ID + "/" + testenv.RandomID(8) + ".txt" // not under incoming/: not the strays' business
			put(final)
			exists := func(key string) bool {
				t.Helper()
				_, err := st.Stat(ctx, key)
				if err != nil && !errors.Is(err, storage.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
			deps := Deps{DB: db, Storage: st, OlderThan: 24 * time.Hour}

			// Now, everything is younger than a presigned link lives: kept.
			if n, err := Run(ctx, deps); err != nil || n != (Removed{}) {
				t.Fatalf("Run now = %+v, %v", n, err)
			}
			if !exists(stray) || !exists(pending.StorageKey) {
				t.Fatal("an incoming/ object younger than the link's lifetime was removed")
			}
			// An hour on, every link has expired: the stray goes, the pending
			// upload's object stays (its row goes after ORPHAN_UPLOAD_TTL).
			deps.Now = func() time.Time { return time.Now().Add(time.Hour) }
			if n, err := Run(ctx, deps); err != nil || n != (Removed{Strays: 1}) {
				t.Fatalf("Run an hour later = %+v, %v", n, err)
			}
			if exists(stray) {
				t.Fatal("stray incoming/ object kept")
			}
			if !exists(pending.StorageKey) || !exists(final) {
				t.Fatal("a pending upload's object or a final object was removed")
			}
			if _, err := db.Attachment(ctx, u.ID, pending.ID); err != nil {
				t.Fatalf("pending row removed: %v", err)
			}
			// A shorter link lifetime counts from the object's last write.
			deps.Now, deps.PresignTTL = nil, time.Minute
			put(stray)
			if n, err := Run(ctx, deps); err != nil || n != (Removed{}) || !exists(stray) {
				t.Fatalf("Run with a fresh stray = %+v, %v", n, err)
			}
		})
	}
}

func TestRunRefusesATinyAge(t *testing.T) {
	if _, err := Run(context.Background(), Deps{DB: testenv.DB(t), OlderThan: time.Second}); err == nil {
		t.Fatal("Run accepted an age of one second")
	}
}
