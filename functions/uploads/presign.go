package uploads

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/sniff"
	"github.com/ari-chat/ari-server/shared/store"
)

type presignRequest struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

func (p presignRequest) Validate() map[string]string {
	f := map[string]string{}
	if strings.TrimSpace(p.ContentType) == "" {
		f["contentType"] = "is required"
	}
	if p.Size <= 0 {
		f["size"] = "must be a positive number of bytes"
	}
	if strings.ContainsRune(p.Name, 0) {
		f["name"] = "contains a NUL byte"
	}
	return f
}

type presignedUpload struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Expires ari.Time          `json:"expires"`
}

type presignResponse struct {
	AttachmentID string          `json:"attachmentId"`
	Upload       presignedUpload `json:"upload"`
}

// presign starts a direct upload: a pending attachment and a URL the client
// PUTs the file to, with exactly the returned headers (the size and type are
// part of the signature; a browser's fetch sets Content-Length itself). The
// object lands under incoming/ and is usable only after /complete.
func (h *handler) presign(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	var req presignRequest
	if err := httpx.Decode(w, r, &req, 0); err != nil {
		return err
	}
	t, ok := sniff.Canonical(req.ContentType)
	if !ok && textAliases[mediaType(req.ContentType)] {
		// Stored and signed as text/plain: that is what the bytes must be.
		t, ok = sniff.Text, true
	}
	if !ok {
		return unsupported(fmt.Sprintf("type %q is not allowed", req.ContentType))
	}
	if req.Size > h.max {
		return tooLarge(h.max)
	}
	_, incoming := newKeys(c.ID, t)
	a, err := h.db.CreateAttachment(r.Context(), ari.Attachment{
		OwnerID: c.ID, StorageKey: incoming, Name: sanitizeName(req.Name, t),
		ContentType: t.MIME, Size: req.Size, Status: ari.AttachmentPending,
	})
	if err != nil {
		return err
	}
	put, err := h.st.PresignPut(r.Context(), incoming, req.Size, t.MIME, h.presignTTL)
	if err != nil {
		h.db.DeleteUnattachedAttachment(context.WithoutCancel(r.Context()), c.ID, a.ID)
		return err
	}
	headers := map[string]string{}
	for k := range put.Headers {
		headers[k] = put.Headers.Get(k)
	}
	return httpx.JSON(w, http.StatusCreated, presignResponse{
		AttachmentID: a.ID,
		Upload:       presignedUpload{Method: put.Method, URL: put.URL, Headers: headers, Expires: ari.T(put.Expires)},
	})
}

// complete checks a direct upload where it landed and copies it, checked in
// the same pass, to its final key; only then is the attachment ready. A
// missing object leaves the attachment pending (409, try again after the
// PUT); a wrong size, type or structure deletes the object and the
// attachment. Completing a ready attachment again just returns it.
func (h *handler) complete(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := h.db.Attachment(ctx, c.ID, r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		return ari.NotFound("attachment")
	}
	if err != nil {
		return err
	}
	if a.Status == ari.AttachmentReady {
		return h.respond(ctx, w, http.StatusOK, a)
	}
	final, ok := finalKey(a.StorageKey)
	if !ok {
		return fmt.Errorf("uploads: pending attachment %s has key %q outside incoming/", a.ID, a.StorageKey)
	}
	body, info, err := h.st.Open(ctx, a.StorageKey)
	if errors.Is(err, storage.ErrNotFound) {
		return ari.Errorf(ari.CodeConflict, "the file has not been uploaded yet; PUT it to the presigned URL first")
	}
	if err != nil {
		return err
	}
	defer body.Close()
	if info.Size != a.Size {
		return h.reject(ctx, a, ari.Invalid(map[string]string{"size": fmt.Sprintf("the uploaded file has %d bytes, not the %d declared", info.Size, a.Size)}))
	}
	head := make([]byte, min(a.Size, sniff.HeadSize))
	if _, err := io.ReadFull(body, head); err != nil {
		return fmt.Errorf("uploads: read head of %s: %w", a.StorageKey, err)
	}
	t, err := detect(head)
	if err != nil {
		return h.reject(ctx, a, err)
	}
	if t.MIME != a.ContentType {
		return h.reject(ctx, a, unsupported(fmt.Sprintf("the uploaded file is %s, not the declared %s", t.MIME, a.ContentType)))
	}
	if err := h.storeChecked(ctx, t, io.MultiReader(bytes.NewReader(head), body), a.Size, final); err != nil {
		if ari.ErrorCode(err) == ari.CodeUnsupportedMedia {
			return h.reject(ctx, a, err)
		}
		return err
	}
	ready, err := h.db.MarkAttachmentReady(ctx, c.ID, a.ID, final, h.storedURL(ctx, final))
	if errors.Is(err, store.ErrNotFound) {
		// A concurrent /complete won (same final key, same bytes), or the
		// attachment was deleted meanwhile and our copy must go too.
		ready, err = h.db.Attachment(ctx, c.ID, a.ID)
		if errors.Is(err, store.ErrNotFound) {
			h.deleteObjects(ctx, final)
			return ari.NotFound("attachment")
		}
	}
	if err != nil {
		return err
	}
	h.deleteObjects(ctx, a.StorageKey)
	return h.respond(ctx, w, http.StatusOK, ready)
}

// reject deletes a bad direct upload, object and row, and answers why.
func (h *handler) reject(ctx context.Context, a ari.Attachment, why error) error {
	h.deleteObjects(ctx, a.StorageKey)
	if _, err := h.db.DeleteUnattachedAttachment(context.WithoutCancel(ctx), a.OwnerID, a.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return why
}

// storedURL is the link recorded in the row: permanent for a public bucket;
// for private storage it expires and is refreshed whenever it is handed out.
func (h *handler) storedURL(ctx context.Context, key string) string {
	url, _, err := h.st.URL(ctx, key)
	if err != nil {
		return ""
	}
	return url
}

// mediaType is the lower-cased type without parameters.
func mediaType(v string) string {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(v))
	}
	return mt
}
