package sniff

import (
	"bytes"
	"errors"
	"mime"
	"strings"
)

// HeadSize is how many leading bytes Detect needs to decide; callers read
// this much (or the whole file when it is shorter) and pass it in.
const HeadSize = 512

// Type is one allowed file type: its canonical MIME type and the extension
// (with the dot) used when a name or key is generated for it.
type Type struct {
	MIME string
	Ext  string
}

// The allowed types; doc.go lists their signatures.
var (
	PNG  = Type{"image/png", ".png"}
	JPEG = Type{"image/jpeg", ".jpg"}
	GIF  = Type{"image/gif", ".gif"}
	WebP = Type{"image/webp", ".webp"}
	PDF  = Type{"application/pdf", ".pdf"}
	MP3  = Type{"audio/mpeg", ".mp3"}
	OGG  = Type{"audio/ogg", ".ogg"}
	WAV  = Type{"audio/wav", ".wav"}
	M4A  = Type{"audio/mp4", ".m4a"}
	MP4  = Type{"video/mp4", ".mp4"}
	WebM = Type{"video/webm", ".webm"}
	Text = Type{"text/plain", ".txt"}
)

// Allowed is every type Detect can return, in the order doc.go lists them.
var Allowed = []Type{PNG, JPEG, GIF, WebP, PDF, MP3, OGG, WAV, M4A, MP4, WebM, Text}

var (
	// ErrEmpty is returned for zero bytes: there is nothing to identify.
	ErrEmpty = errors.New("sniff: empty file")
	// ErrUnsupported is returned for content that is not one of Allowed.
	ErrUnsupported = errors.New("sniff: unsupported file type")
)

// Detect identifies head, the first bytes of a file (up to HeadSize).
func Detect(head []byte) (Type, error) {
	if len(head) == 0 {
		return Type{}, ErrEmpty
	}
	if t, ok := detectBinary(head); ok {
		return t, nil
	}
	if isPlainText(head) {
		return Text, nil
	}
	return Type{}, ErrUnsupported
}

func detectBinary(b []byte) (Type, bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return PNG, true
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG, true
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return GIF, true
	case bytes.HasPrefix(b, []byte("%PDF-")):
		return PDF, true
	case bytes.HasPrefix(b, []byte("OggS")):
		return OGG, true
	case bytes.HasPrefix(b, []byte("ID3")) && len(b) >= 10:
		return MP3, true
	case isMP3Frame(b):
		return MP3, true
	}
	if len(b) >= 12 && bytes.HasPrefix(b, []byte("RIFF")) {
		switch string(b[8:12]) {
		case "WEBP":
			return WebP, true
		case "WAVE":
			return WAV, true
		}
	}
	if t, ok := detectFtyp(b); ok {
		return t, true
	}
	if isWebM(b) {
		return WebM, true
	}
	return Type{}, false
}

// isMP3Frame checks an MPEG audio frame header: 11 sync bits, a version that
// is not reserved, Layer III (so AAC's ADTS, which shares the sync word with
// layer bits 00, does not pass), and a usable bitrate and sample rate index.
func isMP3Frame(b []byte) bool {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return false
	}
	version := (b[1] >> 3) & 0x3
	layer := (b[1] >> 1) & 0x3
	bitrate := b[2] >> 4
	rate := (b[2] >> 2) & 0x3
	return version != 0x1 && layer == 0x1 && bitrate != 0x0 && bitrate != 0xF && rate != 0x3
}

var (
	audioBrands = map[string]bool{"M4A ": true, "M4B ": true}
	videoBrands = map[string]bool{
		"isom": true, "iso2": true, "iso3": true, "iso4": true, "iso5": true, "iso6": true,
		"mp41": true, "mp42": true, "avc1": true, "dash": true, "M4V ": true,
	}
)

// detectFtyp reads the ISO base media file's first box, which must be "ftyp";
// its major brand separates audio-only M4A from MP4 video and from the
// relatives we do not serve (QuickTime, HEIC, 3GP).
func detectFtyp(b []byte) (Type, bool) {
	if len(b) < 12 || string(b[4:8]) != "ftyp" {
		return Type{}, false
	}
	size := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	if size < 16 {
		return Type{}, false
	}
	brand := b[8:12]
	switch {
	case audioBrands[string(brand)]:
		return M4A, true
	case videoBrands[string(brand)]:
		return MP4, true
	}
	return Type{}, false
}

// isWebM checks for the EBML magic and then the DocType element (ID 0x4282)
// inside the header, whose value must be "webm" (Matroska proper is refused).
func isWebM(b []byte) bool {
	if !bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}) {
		return false
	}
	window := b[4:min(len(b), 64)]
	i := bytes.Index(window, []byte{0x42, 0x82})
	if i < 0 || i+2 >= len(window) {
		return false
	}
	rest := window[i+2:]
	// The element size is an EBML variable-length integer: the count of
	// leading zero bits in its first byte says how many bytes follow.
	width := 1
	for mask := byte(0x80); mask != 0 && rest[0]&mask == 0; mask >>= 1 {
		width++
	}
	if width > 8 || len(rest) < width+4 {
		return false
	}
	return string(rest[width:width+4]) == "webm"
}

// isPlainText accepts valid UTF-8 without control characters that does not
// open like markup. A rune cut off at the end of head is allowed, because
// head is usually a prefix of a longer file.
func isPlainText(head []byte) bool {
	var c TextChecker
	if _, err := c.Write(head); err != nil {
		return false
	}
	return !looksLikeMarkup(head)
}

func looksLikeMarkup(b []byte) bool {
	b = bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF})
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 2 || b[0] != '<' {
		return false
	}
	c := b[1]
	return c == '!' || c == '?' || c == '/' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// Canonical maps a declared Content-Type (parameters and case ignored, common
// aliases such as image/jpg or audio/x-wav included) to the allowed Type it
// names, so a declared type can be compared with the detected one.
func Canonical(declared string) (Type, bool) {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(declared))
	}
	if alias, ok := aliases[mt]; ok {
		mt = alias
	}
	for _, t := range Allowed {
		if t.MIME == mt {
			return t, true
		}
	}
	return Type{}, false
}

var aliases = map[string]string{
	"image/jpg":       "image/jpeg",
	"image/pjpeg":     "image/jpeg",
	"audio/mp3":       "audio/mpeg",
	"audio/mpeg3":     "audio/mpeg",
	"audio/x-mpeg":    "audio/mpeg",
	"audio/x-wav":     "audio/wav",
	"audio/wave":      "audio/wav",
	"audio/vnd.wave":  "audio/wav",
	"audio/x-m4a":     "audio/mp4",
	"audio/m4a":       "audio/mp4",
	"application/ogg": "audio/ogg",
}
