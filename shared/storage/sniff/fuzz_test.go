package sniff

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/storage/sniff/snifftest"
)

// seeds are valid files of every type (made here and by real encoders,
// testdata/samples) for the fuzzers to mutate; testdata/fuzz holds the
// committed corpus of edge cases besides.
func seeds(f *testing.F) [][]byte {
	out := [][]byte{
		snifftest.PNG(f), snifftest.JPEG(f), snifftest.GIF(f), snifftest.WebP(), snifftest.WAV(),
		snifftest.PDF(), snifftest.MP3(), snifftest.Ogg(), snifftest.MP4("isom"), snifftest.MP4("M4A "),
		snifftest.WebM(), snifftest.Text(), snifftest.PNGOnELF,
	}
	for _, s := range realSamples {
		out = append(out, readSample(f, s.file))
	}
	return out
}

// FuzzDetect: any head gets an allowed type or a refusal, never a panic;
// ErrEmpty exactly for no bytes; text/plain only for bytes the streaming
// text check accepts (a rune cut off at the end of the head aside).
func FuzzDetect(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s[:min(len(s), HeadSize)])
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		typ, err := Detect(head)
		switch {
		case len(head) == 0:
			if !errors.Is(err, ErrEmpty) {
				t.Fatalf("no bytes: %v, %v", typ, err)
			}
		case err != nil:
			if !errors.Is(err, ErrUnsupported) || typ != (Type{}) {
				t.Fatalf("refusal %v with type %v", err, typ)
			}
		case !slices.Contains(Allowed, typ):
			t.Fatalf("detected %v, not an allowed type", typ)
		case typ == Text:
			var c TextChecker
			if _, err := c.Write(head); err != nil {
				t.Fatalf("detected as text, the text check refuses it: %q", head)
			}
		}
		again, err2 := Detect(bytes.Clone(head))
		if again != typ || (err == nil) != (err2 == nil) {
			t.Fatalf("Detect is not deterministic: %v/%v then %v/%v", typ, err, again, err2)
		}
	})
}

// FuzzCheckStructure runs every type's check over arbitrary bytes. The
// answer is nil or ErrBadStructure (never another error for an in-memory
// file, never a panic), the same however the reader splits the bytes, and a
// source that is longer or shorter than the declared size never passes.
func FuzzCheckStructure(f *testing.F) {
	for _, s := range seeds(f) {
		t, err := Detect(s[:min(len(s), HeadSize)])
		if err != nil {
			t = PNG
		}
		f.Add(uint8(slices.Index(Allowed, t)), s)
	}
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		typ := Allowed[int(kind)%len(Allowed)]
		size := int64(len(data))
		err := CheckStructure(typ, bytes.NewReader(data), size)
		if err != nil && !errors.Is(err, ErrBadStructure) {
			t.Fatalf("%s: error %v is not ErrBadStructure", typ.MIME, err)
		}
		for name, r := range map[string]io.Reader{
			"one byte at a time": iotest.OneByteReader(bytes.NewReader(data)),
			"half reads":         iotest.HalfReader(bytes.NewReader(data)),
		} {
			if err2 := CheckStructure(typ, r, size); (err == nil) != (err2 == nil) {
				t.Fatalf("%s, %s: %v, whole reads: %v", typ.MIME, name, err2, err)
			}
		}
		if err := CheckStructure(typ, bytes.NewReader(append(bytes.Clone(data), 'x')), size); !errors.Is(err, ErrBadStructure) {
			t.Fatalf("%s: a byte beyond the declared size: %v", typ.MIME, err)
		}
		if err := CheckStructure(typ, bytes.NewReader(data), size+1); !errors.Is(err, ErrBadStructure) {
			t.Fatalf("%s: a source one byte short of the declared size: %v", typ.MIME, err)
		}
	})
}

// FuzzTextChecker compares the streaming check, fed in two pieces split
// anywhere, with a plain reading of the rule: valid UTF-8 whose runes are
// not C0/C1 controls other than tab, LF and CR.
func FuzzTextChecker(f *testing.F) {
	f.Add([]byte("grüße 👋\r\n\tok"), uint16(3))
	f.Add([]byte("\xf0\x9f\x91"), uint16(1))
	f.Add([]byte("a\u0085b"), uint16(2))
	f.Add([]byte("\xed\xa0\x80"), uint16(1)) // a UTF-16 surrogate, invalid in UTF-8
	f.Fuzz(func(t *testing.T, data []byte, split uint16) {
		want := utf8.Valid(data)
		for _, r := range string(data) {
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r >= 0x7F && r <= 0x9F {
				want = false
			}
		}
		at := int(split) % (len(data) + 1)
		var c TextChecker
		_, err := c.Write(data[:at])
		if err == nil {
			_, err = c.Write(data[at:])
		}
		if err == nil {
			err = c.Close()
		}
		if got := err == nil; got != want {
			t.Fatalf("%q split at %d: accepted %v, want %v (%v)", data, at, got, want, err)
		}
	})
}
