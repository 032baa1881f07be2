package uploads

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/storage/sniff"
	"github.com/ari-chat/ari-server/shared/textcheck"
)

// multipartOverhead is what a multipart body may carry beyond the file
// itself: boundaries and part headers.
const multipartOverhead = 64 << 10

// upload takes one file in a multipart/form-data body under the field name
// "file". The part is spooled to an unlinked temporary file on disk
// (never into memory), because its size is only known at the end and a
// store needs it up front; that also lets every refusal happen before
// anything reaches storage. Then the spooled bytes are streamed into
// storage and through the structure check in one pass.
//
// Behind API Gateway a Lambda request body is capped at about 6 MB (less
// after base64), so larger files use the presigned flow.
func (h *handler) upload(w http.ResponseWriter, r *http.Request) error {
	c, err := auth.RequestCaller(r)
	if err != nil {
		return err
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return unsupported("body must be multipart/form-data with one file in the field \"file\"")
	}
	limit := h.max + multipartOverhead
	if r.ContentLength > limit {
		return tooLarge(h.max)
	}
	mr := multipart.NewReader(http.MaxBytesReader(w, r.Body, limit), params["boundary"])

	var sp *spooled
	defer func() { sp.close() }()
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return h.bodyError(err)
		}
		name := part.FormName()
		switch {
		case name != "file":
			part.Close()
			if name == "" {
				name = "(unnamed part)"
			}
			return ari.Invalid(map[string]string{name: "unexpected field; send only the field \"file\""})
		case sp != nil:
			part.Close()
			return ari.Invalid(map[string]string{"file": "send exactly one file per request"})
		}
		sp, err = h.spool(part)
		part.Close()
		if err != nil {
			return err
		}
	}
	if sp == nil {
		return ari.Invalid(map[string]string{"file": "is required"})
	}
	if p := textcheck.String(sp.filename); p != "" {
		return ari.Invalid(map[string]string{"file": "file name " + p})
	}
	t, err := detect(sp.head)
	if err != nil {
		return err
	}
	if !agrees(sp.declared, t) {
		return unsupported(fmt.Sprintf("declared type %q does not match the file's content (%s)", sp.declared, t.MIME))
	}
	if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	key, _ := newKeys(c.ID, t)
	if err := h.storeChecked(r.Context(), t, sp.f, sp.size, key); err != nil {
		return err
	}
	a, err := h.db.CreateAttachment(r.Context(), ari.Attachment{
		OwnerID: c.ID, StorageKey: key, Name: sanitizeName(sp.filename, t),
		ContentType: t.MIME, Size: sp.size, Status: ari.AttachmentReady, URL: h.storedURL(r.Context(), key),
	})
	if err != nil {
		h.deleteObjects(r.Context(), key)
		return err
	}
	return h.respond(r.Context(), w, http.StatusCreated, a)
}

func tooLarge(max int64) error {
	return ari.Errorf(ari.CodeTooLarge, "file is larger than the limit of %d bytes", max)
}

func (h *handler) bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return tooLarge(h.max)
	}
	return &ari.Error{Code: ari.CodeInvalid, Message: "malformed multipart body", Err: err}
}

// spooled is one file part on disk.
type spooled struct {
	f        *os.File
	size     int64
	head     []byte
	filename string // as the client sent it, unsanitised
	declared string // the part's Content-Type
}

func (s *spooled) close() {
	if s != nil {
		s.f.Close()
	}
}

func (h *handler) spool(part *multipart.Part) (*spooled, error) {
	f, err := os.CreateTemp(h.spoolDir, "ari-upload-*")
	if err != nil {
		return nil, fmt.Errorf("uploads: spool file: %w", err)
	}
	// Unlinked at once: the space is freed when f is closed, even if this
	// process dies first.
	os.Remove(f.Name())
	sp := &spooled{f: f, declared: part.Header.Get("Content-Type"), filename: rawFileName(part)}
	n, err := io.Copy(f, io.LimitReader(part, h.max+1))
	if err != nil {
		sp.close()
		return nil, h.bodyError(err)
	}
	if n > h.max {
		sp.close()
		return nil, tooLarge(h.max)
	}
	if n == 0 {
		sp.close()
		return nil, ari.Invalid(map[string]string{"file": "is empty"})
	}
	sp.size = n
	sp.head = make([]byte, min(n, sniff.HeadSize))
	if _, err := f.ReadAt(sp.head, 0); err != nil {
		sp.close()
		return nil, fmt.Errorf("uploads: read spooled head: %w", err)
	}
	return sp, nil
}

// rawFileName is the filename parameter exactly as sent (Part.FileName
// already drops directories, but we want to see a NUL wherever it is).
func rawFileName(part *multipart.Part) string {
	_, params, err := mime.ParseMediaType(part.Header.Get("Content-Disposition"))
	if err != nil {
		return ""
	}
	return params["filename"]
}
