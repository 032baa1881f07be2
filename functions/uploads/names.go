package uploads

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/sniff"
	"github.com/google/uuid"
)

// maxNameBytes bounds a stored file name (the column allows 255 characters;
// bytes are stricter and keep Content-Disposition headers small).
const maxNameBytes = 255

// sanitizeName turns a client's file name into a display name: only the last
// path component (either slash), without NUL, control or bidirectional
// formatting characters and invalid UTF-8, trimmed, at most 255 bytes. The
// result is only ever shown; it never reaches a path or a storage key.
// An empty result becomes "file" plus the detected type's extension.
func sanitizeName(name string, t sniff.Type) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for len(name) > 0 {
		r, size := utf8.DecodeRuneInString(name)
		name = name[size:]
		switch {
		case r == utf8.RuneError && size <= 1:
		case unicode.IsControl(r), unicode.Is(unicode.Bidi_Control, r), r == '\u2028', r == '\u2029':
		default:
			b.WriteRune(r)
		}
	}
	out := strings.TrimSpace(b.String())
	// Windows drops trailing dots and spaces; "." and ".." mean directories.
	out = strings.TrimRight(out, ". ")
	if len(out) > maxNameBytes {
		cut := maxNameBytes
		for cut > 0 && !utf8.RuneStart(out[cut]) {
			cut--
		}
		out = strings.TrimSpace(out[:cut])
	}
	if out == "" {
		return "file" + t.Ext
	}
	return out
}

// Storage keys are generated, never derived from anything a client sends
// except the detected type's extension:
//
//	u/<ownerId>/<uuid>.<ext>         a checked file (storage.UserPrefixes)
//	incoming/<ownerId>/<uuid>.<ext>  where a presigned upload lands before
//	                                 /complete checks it and copies it to u/
//
// Checked files never live under a key a client can still write to: a
// presigned PUT stays valid until it expires, so a file checked in place
// could be swapped afterwards.
func newKeys(ownerID string, t sniff.Type) (final, incoming string) {
	name := storage.OwnerSegment(ownerID) + "/" + uuid.NewString() + t.Ext
	return "u/" + name, "incoming/" + name
}

// finalKey maps an incoming key to the key its checked copy gets.
func finalKey(incoming string) (string, bool) {
	rest, ok := strings.CutPrefix(incoming, "incoming/")
	return "u/" + rest, ok
}
