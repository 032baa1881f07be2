package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Store is where uploaded files live. Every method takes a key checked by
// ValidKey; an unknown key answers ErrNotFound.
type Store interface {
	// Put streams exactly size bytes from body into key, replacing what was
	// there. The body is never held whole in memory. A body that is shorter
	// or longer than size fails with ErrSizeMismatch and stores nothing.
	Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error
	// Open returns the object's content; the caller closes it.
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	// Stat describes the object without reading it.
	Stat(ctx context.Context, key string) (Info, error)
	// ReadHead returns up to n leading bytes (fewer when the object is
	// shorter), for content sniffing.
	ReadHead(ctx context.Context, key string, n int) ([]byte, error)
	// Delete removes the object. Deleting a missing key is not an error, so
	// cleanup can be retried.
	Delete(ctx context.Context, key string) error
	// PresignPut returns a request a client can make without credentials to
	// upload exactly size bytes of contentType to key before ttl passes. The
	// size and type are bound into the signature: the server refuses others.
	PresignPut(ctx context.Context, key string, size int64, contentType string, ttl time.Duration) (PresignedRequest, error)
	// URL returns a link a client can GET the object from. A zero expires
	// means the link does not expire (a public bucket); otherwise the link
	// stops working at expires and must be fetched again. URL does not check
	// that the object exists.
	URL(ctx context.Context, key string) (url string, expires time.Time, err error)
	// List returns the keys that begin with prefix whose object was last
	// written before olderThan, in no particular order. It is for cleanups
	// (stray incoming/ objects), so it holds every matching key at once.
	List(ctx context.Context, prefix string, olderThan time.Time) ([]string, error)
}

// DefaultPresignTTL is how long a presigned upload link works unless its
// caller says otherwise. An incoming/ object last written longer ago than
// this can no longer be written by anyone (see the uploads cleanup).
const DefaultPresignTTL = 15 * time.Minute

// Info describes a stored object.
type Info struct {
	Size        int64
	ContentType string
	ModTime     time.Time
}

// PresignedRequest is everything a client needs to make a presigned call:
// it must send every header in Headers with exactly these values.
type PresignedRequest struct {
	Method  string
	URL     string
	Headers http.Header
	Expires time.Time
}

var (
	// ErrNotFound means there is no object under the key.
	ErrNotFound = errors.New("storage: object not found")
	// ErrInvalidKey means the key breaks the rules in ValidKey.
	ErrInvalidKey = errors.New("storage: invalid key")
	// ErrSizeMismatch means a body did not have the size it was declared with.
	ErrSizeMismatch = errors.New("storage: body size does not match declared size")
)

// MaxKeyLen bounds a key; S3 allows 1024 bytes.
const MaxKeyLen = 1024

// ValidKey reports whether key is safe both as an S3 object key and as a
// relative path under a local root. See the package doc for the rules.
func ValidKey(key string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("%w: length %d", ErrInvalidKey, len(key))
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '/' || c == '_' || c == '.' || c == '-'
		if !ok {
			return fmt.Errorf("%w: byte %#x at %d", ErrInvalidKey, c, i)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || seg[0] == '.' {
			return fmt.Errorf("%w: segment %q", ErrInvalidKey, seg)
		}
	}
	return nil
}

func checkPut(key string, size int64, contentType string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("storage: negative size %d", size)
	}
	if contentType == "" || strings.ContainsAny(contentType, "\r\n") {
		return fmt.Errorf("storage: invalid content type %q", contentType)
	}
	return nil
}

// exactReader passes through exactly size bytes and fails with
// ErrSizeMismatch when the underlying reader ends early or has more, so a
// wrong declared size never turns into a silently truncated object. The
// check for surplus data happens before the last bytes are handed on: a
// consumer that stops after size bytes (an HTTP transport with a
// Content-Length) must never see a complete body from an oversized source.
type exactReader struct {
	r        io.Reader
	left     int64
	done     bool
	mismatch bool // sticky, so callers can tell even through wrapped errors
}

func newExactReader(r io.Reader, size int64) *exactReader {
	return &exactReader{r: r, left: size}
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	if e.mismatch {
		return 0, ErrSizeMismatch
	}
	if e.left == 0 {
		if err := e.probeEnd(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	// A source that knows it was cut short (an HTTP body whose client hung
	// up) says ErrUnexpectedEOF; for us that is the same short body.
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		if e.left > 0 {
			e.mismatch = true
			return 0, ErrSizeMismatch
		}
		e.done = true
		return n, nil
	}
	if err != nil {
		return n, err
	}
	if e.left == 0 {
		if err := e.probeEnd(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// probeEnd reads one byte past the declared size; there must be none.
func (e *exactReader) probeEnd() error {
	var one [1]byte
	for range 100 {
		n, err := e.r.Read(one[:])
		if n > 0 {
			e.mismatch = true
			return ErrSizeMismatch
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			e.done = true
			return nil
		}
		if err != nil {
			return err
		}
	}
	return io.ErrNoProgress
}
