// Package uploads is the uploads function: files sent through the API or
// straight to storage with a presigned URL, checked by their bytes before
// anyone can use them, and handed out as links.
//
//	POST   /api/uploads                multipart upload of one file → 201
//	POST   /api/uploads/presign        {name, contentType, size} → 201 presigned PUT
//	POST   /api/uploads/{id}/complete  check the uploaded object → 200
//	GET    /api/uploads/{id}           the caller's attachment with a fresh link
//	DELETE /api/uploads/{id}           delete an attachment not yet on a message → 204
//
// What a file is comes from its content (shared/storage/sniff for the
// allowed types and the whole-file structure checks), never from the
// name or the declared Content-Type, which may only agree with it.
package uploads

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/sniff"
	"github.com/ari-chat/ari-server/shared/store"
)

// DefaultPresignTTL is how long a presigned upload URL works.
const DefaultPresignTTL = storage.DefaultPresignTTL

// Deps is what the function needs.
type Deps struct {
	DB      *store.DB
	Storage storage.Store
	Auth    *auth.Authenticator
	// MaxUploadBytes is the largest file accepted (MAX_UPLOAD_BYTES).
	MaxUploadBytes int64
	// SpoolDir holds a multipart upload while it is checked, so the file is
	// never held in memory; default os.TempDir() (on Lambda /tmp, 512 MB of
	// ephemeral storage unless configured larger).
	SpoolDir string
	// PresignTTL is the lifetime of presigned upload URLs; default
	// DefaultPresignTTL.
	PresignTTL time.Duration
}

type handler struct {
	db         *store.DB
	st         storage.Store
	max        int64
	spoolDir   string
	presignTTL time.Duration
}

// New returns the uploads routes, all behind deps.Auth.
func New(deps Deps) *httpx.Router {
	h := &handler{db: deps.DB, st: deps.Storage, max: deps.MaxUploadBytes, spoolDir: deps.SpoolDir, presignTTL: deps.PresignTTL}
	if h.spoolDir == "" {
		h.spoolDir = os.TempDir()
	}
	if h.presignTTL <= 0 {
		h.presignTTL = DefaultPresignTTL
	}
	r := httpx.NewRouter()
	h.register(r.With(deps.Auth.Require))
	return r
}

// register adds every uploads route to r.
func (h *handler) register(r *httpx.Router) {
	r.HandleFunc("POST /api/uploads", h.upload)
	r.HandleFunc("POST /api/uploads/presign", h.presign)
	r.HandleFunc("POST /api/uploads/{id}/complete", h.complete)
	r.HandleFunc("GET /api/uploads/{id}", h.get)
	r.HandleFunc("DELETE /api/uploads/{id}", h.delete)
}

type attachmentBody struct {
	Attachment ari.Attachment `json:"attachment"`
}

// respond gives a with a fresh link.
func (h *handler) respond(ctx context.Context, w http.ResponseWriter, status int, a ari.Attachment) error {
	list := []ari.Attachment{a}
	if err := storage.FreshURLs(ctx, h.st, list); err != nil {
		return err
	}
	return httpx.JSON(w, status, attachmentBody{Attachment: list[0]})
}

func (h *handler) get(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.db.Attachment(r.Context(), c.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("attachment")
	}
	if err != nil {
		return err
	}
	return h.respond(r.Context(), w, http.StatusOK, a)
}

func (h *handler) delete(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	a, err := h.db.DeleteUnattachedAttachment(r.Context(), c.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		if _, err := h.db.Attachment(r.Context(), c.ID, r.PathValue("id")); err == nil {
			return ari.Errorf(ari.CodeConflict, "this file is on a message; delete the message instead")
		}
		return ari.NotFound("attachment")
	}
	if err != nil {
		return err
	}
	h.deleteObjects(r.Context(), a.StorageKey)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteObjects removes objects whose rows are already gone. A failure is
// logged, not returned: the caller's answer does not depend on it, and the
// stray object holds nothing anyone can reach without its row.
func (h *handler) deleteObjects(ctx context.Context, keys ...string) {
	if err := storage.DeleteObjects(context.WithoutCancel(ctx), h.st, keys); err != nil {
		slog.ErrorContext(ctx, "uploads: delete objects", "keys", keys, "err", err)
	}
}

// storeChecked streams size bytes of src, detected as t, into key while
// sniff.CheckStructure reads the same bytes, so an object only ever exists for a
// file that passed. A failed check aborts the Put (nothing is stored) and is
// returned as 415.
func (h *handler) storeChecked(ctx context.Context, t sniff.Type, src io.Reader, size int64, key string) error {
	pr, pw := io.Pipe()
	put := make(chan error, 1)
	go func() {
		err := h.st.Put(ctx, key, pr, size, t.MIME)
		// Whatever happened, the checker's further writes must fail rather
		// than wait for a reader that is gone.
		pr.CloseWithError(fmt.Errorf("uploads: storage stopped reading: %v", err))
		put <- err
	}()
	checkErr := sniff.CheckStructure(t, io.TeeReader(src, pw), size)
	pw.CloseWithError(checkErr)
	putErr := <-put
	if checkErr != nil {
		if putErr == nil {
			// Put had every byte before the check failed at the end.
			h.deleteObjects(ctx, key)
		}
		if errors.Is(checkErr, sniff.ErrBadStructure) {
			return unsupported(t.MIME + " file is malformed or carries other data")
		}
		return checkErr
	}
	return putErr
}

func unsupported(msg string) error {
	return ari.Errorf(ari.CodeUnsupportedMedia, "%s", msg)
}

// detect names the type of head or answers why it is refused.
func detect(head []byte) (sniff.Type, error) {
	t, err := sniff.Detect(head)
	switch {
	case errors.Is(err, sniff.ErrEmpty):
		return t, ari.Invalid(map[string]string{"file": "is empty"})
	case err != nil:
		return t, unsupported("file type is not allowed (allowed: images PNG, JPEG, GIF, WebP; PDF; plain text; MP3, OGG, WAV, M4A audio; MP4, WebM video)")
	}
	return t, nil
}

// textAliases are declared types that describe plain text more precisely;
// a file declared so and detected as text/plain is stored as text/plain.
var textAliases = map[string]bool{
	"text/markdown": true, "text/x-markdown": true, "text/csv": true,
	"text/tab-separated-values": true, "text/x-log": true,
}

// agrees reports whether a declared Content-Type is compatible with what was
// detected. No declaration, or application/octet-stream, says nothing.
func agrees(declared string, detected sniff.Type) bool {
	if declared == "" {
		return true
	}
	if t, ok := sniff.Canonical(declared); ok {
		return t == detected
	}
	mt := mediaType(declared)
	return mt == "application/octet-stream" || detected == sniff.Text && textAliases[mt]
}
