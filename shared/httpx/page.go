package httpx

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/ari-chat/ari-server/shared/ari"
)

// Page is the one shape of every list answer. The cursors are opaque to
// clients: a nil cursor means there is nothing more in that direction.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"nextCursor"`
	PrevCursor *string `json:"prevCursor"`
}

// NewPage returns a page of items whose Items is never null on the wire.
func NewPage[T any](items []T) Page[T] {
	if items == nil {
		items = []T{}
	}
	return Page[T]{Items: items}
}

// maxCursorLen bounds what DecodeCursor will even look at, so a hostile
// query string cannot make us decode megabytes.
const maxCursorLen = 1024

// EncodeCursor turns a position (any JSON-encodable value) into an opaque,
// URL-safe cursor.
func EncodeCursor(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		// Cursor values are small structs of strings and numbers that always
		// encode; an unencodable one is a programming error surfaced as an
		// empty cursor rather than a panic.
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// CursorPtr is EncodeCursor for the *string fields of Page.
func CursorPtr(v any) *string {
	s := EncodeCursor(v)
	return &s
}

// DecodeCursor reads a cursor made by EncodeCursor into v. Anything else —
// bad base64, bad JSON, fields v does not have — is a client error.
func DecodeCursor(s string, v any) error {
	bad := ari.Invalid(map[string]string{"cursor": "is not a valid cursor"})
	if s == "" || len(s) > maxCursorLen {
		return bad
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return bad
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bad
	}
	if dec.More() {
		return bad
	}
	return nil
}

// PageRequest reads a forward list request: ?limit= as Limit does, and
// ?cursor= (optional) decoded into a C, nil when absent.
func PageRequest[C any](r *http.Request, def, max int) (limit int, after *C, err error) {
	if limit, err = Limit(r, def, max); err != nil {
		return 0, nil, err
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		after = new(C)
		if err := DecodeCursor(c, after); err != nil {
			return 0, nil, err
		}
	}
	return limit, after, nil
}

// Limit reads the ?limit= query parameter: def when absent, otherwise an
// integer from 1 to max, else an invalid-request error.
func Limit(r *http.Request, def, max int) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, ari.Invalid(map[string]string{"limit": fmt.Sprintf("must be an integer from 1 to %d", max)})
	}
	return n, nil
}
