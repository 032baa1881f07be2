package uploads

import (
	"bytes"
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/storage/sniff/snifftest"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
	"github.com/jackc/pgx/v5"
)

// A file on a message goes only with its message: DELETE answers 409 and
// keeps row and object; to anyone else the id stays unknown (404).
func TestDeleteOfAnAttachedFileIsAConflict(t *testing.T) {
	e := newEnv(t, "local", smallMax)
	u := testenv.NewUser(t, e.db, "sender")
	other := testenv.NewUser(t, e.db, "other")
	img := snifftest.PNG(t)
	a := e.upload(u.Token, part{"file", "a.png", "image/png", img}).attachment(t)

	conv := apitest.Conversation(t, e.db, "direct", u.ID, other.ID)
	msg := apitest.Post(t, e.db, conv, u.ID, "see attached")[0]
	if err := e.db.Tx(context.Background(), func(tx pgx.Tx) error {
		_, err := store.ClaimAttachments(context.Background(), tx, u.ID, msg, []string{a.ID})
		return err
	}); err != nil {
		t.Fatal(err)
	}

	r := e.do(http.MethodDelete, "/api/uploads/"+a.ID, u.Token, "", nil)
	if r.status != http.StatusConflict || r.errorCode() != ari.CodeConflict {
		t.Fatalf("delete of an attached file: %d %s, want 409 conflict", r.status, r.body)
	}
	if r := e.do(http.MethodDelete, "/api/uploads/"+a.ID, other.Token, "", nil); r.status != http.StatusNotFound {
		t.Fatalf("a conversation member deleting the sender's file: %d %s, want 404", r.status, r.body)
	}
	got := e.do(http.MethodGet, "/api/uploads/"+a.ID, u.Token, "", nil).attachment(t)
	if got.MessageID == nil || *got.MessageID != msg {
		t.Fatalf("attachment after the refused delete: %+v", got)
	}
	if body := e.fetch(got.URL); !bytes.Equal(body.body, img) {
		t.Fatalf("the file is gone after a refused delete: %d, %d bytes", body.status, len(body.body))
	}
	if n := e.rows(u.ID); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// An object whose size differs from the one declared at presign (a store
// that did not enforce the signed length) is refused at complete with 400
// on the size, and object and row are deleted.
func TestCompleteOfAWrongSizeIsRefused(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, smallMax)
			u := testenv.NewUser(t, e.db, "liar")
			img := snifftest.PNG(t)
			for _, size := range []int{len(img) + 1, len(img) - 1} {
				p, r := e.presign(u.Token, "a.png", "image/png", size)
				if r.status != http.StatusCreated {
					t.Fatalf("presign: %d %s", r.status, r.body)
				}
				row, err := e.db.Attachment(context.Background(), u.ID, p.AttachmentID)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.st.Put(context.Background(), row.StorageKey, bytes.NewReader(img), int64(len(img)), "image/png"); err != nil {
					t.Fatal(err)
				}
				r = e.do(http.MethodPost, "/api/uploads/"+p.AttachmentID+"/complete", u.Token, "", nil)
				if r.status != http.StatusBadRequest || r.errorCode() != ari.CodeInvalid || !bytes.Contains(r.body, []byte(`"size"`)) {
					t.Fatalf("declared %d, stored %d: %d %s, want 400 on size", size, len(img), r.status, r.body)
				}
				if keys := e.objects(); len(keys) != 0 {
					t.Fatalf("objects kept: %v", keys)
				}
				if n := e.rows(u.ID); n != 0 {
					t.Fatalf("%d rows kept", n)
				}
			}
		})
	}
}

// Complete and delete of one direct upload, sent at the same moment, end
// consistently whichever wins: delete succeeds, complete answers 200 (it
// was first), 404 or 409 (the row or the object was gone), and afterwards
// there is neither a row nor any object, checked or not.
func TestCompleteAndDeleteRace(t *testing.T) {
	rounds := map[string]int{"local": 20, "s3": 6}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, smallMax)
			u := testenv.NewUser(t, e.db, "racer")
			img := snifftest.JPEG(t)
			outcomes := map[int]int{}
			for range rounds[backend] {
				p, r := e.presign(u.Token, "a.jpg", "image/jpeg", len(img))
				if r.status != http.StatusCreated {
					t.Fatalf("presign: %d %s", r.status, r.body)
				}
				if r := e.put(p, img); r.status != http.StatusOK {
					t.Fatalf("PUT: %d", r.status)
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				var completed, deleted reply
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-start
					completed = e.do(http.MethodPost, "/api/uploads/"+p.AttachmentID+"/complete", u.Token, "", nil)
				}()
				go func() {
					defer wg.Done()
					<-start
					deleted = e.do(http.MethodDelete, "/api/uploads/"+p.AttachmentID, u.Token, "", nil)
				}()
				close(start)
				wg.Wait()
				if deleted.status != http.StatusNoContent {
					t.Fatalf("delete: %d %s", deleted.status, deleted.body)
				}
				switch completed.status {
				case http.StatusOK, http.StatusNotFound, http.StatusConflict:
					outcomes[completed.status]++
				default:
					t.Fatalf("complete: %d %s", completed.status, completed.body)
				}
				if r := e.do(http.MethodGet, "/api/uploads/"+p.AttachmentID, u.Token, "", nil); r.status != http.StatusNotFound {
					t.Fatalf("after the race: GET %d %s", r.status, r.body)
				}
				if n := e.rows(u.ID); n != 0 {
					t.Fatalf("%d rows after the race", n)
				}
				if keys := e.objects(); len(keys) != 0 {
					t.Fatalf("objects after the race (complete answered %d): %v", completed.status, keys)
				}
			}
			t.Logf("%s: complete answered %v over %d rounds", backend, outcomes, rounds[backend])
		})
	}
}
