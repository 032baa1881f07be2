package storage

import (
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
)

// inlineTypes may be shown by a browser in place: none of them can run
// script in our origin. Everything else is served as a download.
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true,
	"application/pdf": true, "text/plain": true,
	"audio/mpeg": true, "audio/ogg": true, "audio/wav": true, "audio/mp4": true,
	"video/mp4": true, "video/webm": true,
}

// servedInline reports whether a stored type may be displayed in place.
func servedInline(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && inlineTypes[mt]
}

// LocalHandler serves a Local store's signed links, for mounting at the
// root of the server BaseURL points at:
//
//	GET  /files/{key...}?exp=&sig=  download (also HEAD and Range requests)
//	PUT  /files/{key...}?exp=&sig=  presigned upload: Content-Length and
//	                                Content-Type must be the signed ones, and
//	                                the upload still open (localopen.go)
//
// Errors are JSON {"error":{"code","message"}}.
func LocalHandler(l *Local) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /files/{key...}", l.serveGet)
	mux.HandleFunc("PUT /files/{key...}", l.servePut)
	return mux
}

func (l *Local) serveGet(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if ValidKey(key) != nil {
		writeFileError(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	q := r.URL.Query()
	if err := l.signer.verify(l.now(), http.MethodGet, key, q.Get("exp"), q.Get("sig"), 0, ""); err != nil {
		writeSignatureError(w, r, err)
		return
	}
	f, info, err := l.openFile(r.Context(), key)
	if errors.Is(err, ErrNotFound) {
		writeFileError(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	if err != nil {
		slog.ErrorContext(r.Context(), "storage: open local file", "key", key, "err", err)
		writeFileError(w, r, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	defer f.Close()

	exp, _ := strconv.ParseInt(q.Get("exp"), 10, 64)
	h := w.Header()
	for k, v := range safeHeaders(info.ContentType, path.Base(key), time.Unix(exp, 0).Sub(l.now())) {
		h[k] = v
	}
	http.ServeContent(w, r, "", info.ModTime, f)
}

// safeHeaders are the response headers for a stored file: the stored type
// (never sniffed by the browser), download unless the type is known to be
// inert, and caching no longer than the link lives.
func safeHeaders(contentType, name string, linkLeft time.Duration) http.Header {
	h := http.Header{}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, contentType = "application/octet-stream", "application/octet-stream"
	}
	if mt == "text/plain" {
		contentType = "text/plain; charset=utf-8"
	}
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	disposition := "attachment"
	if servedInline(mt) {
		disposition = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	if mt != "application/pdf" {
		// Belt and braces for a type that slips through: no script, no
		// plugins, no requests. Browsers' PDF viewers break under sandbox.
		h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	}
	h.Set("Cache-Control", "private, max-age="+strconv.Itoa(max(0, int(linkLeft.Seconds()))))
	return h
}

func (l *Local) servePut(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if ValidKey(key) != nil {
		writeFileError(w, r, http.StatusNotFound, "not_found", "no such file")
		return
	}
	if r.ContentLength < 0 {
		writeFileError(w, r, http.StatusLengthRequired, "length_required", "Content-Length is required")
		return
	}
	q := r.URL.Query()
	ct := r.Header.Get("Content-Type")
	if err := l.signer.verify(l.now(), http.MethodPut, key, q.Get("exp"), q.Get("sig"), r.ContentLength, ct); err != nil {
		writeSignatureError(w, r, err)
		return
	}
	if !l.isOpen(key) {
		writeFileError(w, r, http.StatusForbidden, "upload_closed", "this upload was completed, deleted or never started; presign a new one")
		return
	}
	if l.maxPut > 0 && r.ContentLength > l.maxPut {
		writeFileError(w, r, http.StatusRequestEntityTooLarge, "too_large", "file is larger than the upload limit")
		return
	}
	// The server already stops the body at Content-Length; Put's exact-size
	// check turns a client that hangs up early into a refusal, not a short file.
	err := l.Put(r.Context(), key, r.Body, r.ContentLength, ct)
	switch {
	case errors.Is(err, ErrSizeMismatch):
		writeFileError(w, r, http.StatusBadRequest, "size_mismatch", "body does not match Content-Length")
	case err != nil:
		// A body cut off by the client ends up here too; it is logged
		// like any failure but the client never sees the error text.
		slog.ErrorContext(r.Context(), "storage: local upload", "key", key, "err", err)
		writeFileError(w, r, http.StatusInternalServerError, "internal", "internal error")
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func writeSignatureError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errExpired) {
		writeFileError(w, r, http.StatusForbidden, "link_expired", "this link has expired")
		return
	}
	writeFileError(w, r, http.StatusForbidden, "invalid_signature", "the link's signature does not match this request")
}

func writeFileError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	httpx.WriteError(w, r, &ari.Error{Status: status, Code: ari.Code(code), Message: message})
}
