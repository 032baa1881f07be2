package uploads

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/sniff"
	"github.com/ari-chat/ari-server/shared/storage/sniff/snifftest"
)

// FuzzStoreChecked runs the upload path's check-while-storing over arbitrary
// bytes into real local storage: a file is either stored byte for byte and
// passes the structure check, or refused with 415 and nothing is left in
// storage (no object, no temporary file). No input gets any other error.
func FuzzStoreChecked(f *testing.F) {
	for _, s := range [][]byte{
		snifftest.PNG(f), snifftest.JPEG(f), snifftest.GIF(f), snifftest.WebP(), snifftest.WAV(), snifftest.PDF(),
		snifftest.MP3(), snifftest.Ogg(), snifftest.MP4("isom"), snifftest.WebM(), snifftest.Text(),
		snifftest.PNGOnELF, append(snifftest.PNG(f), snifftest.ELF...),
	} {
		f.Add(s)
	}
	dir := f.TempDir()
	st, err := storage.NewLocal(storage.LocalConfig{Dir: dir, BaseURL: "http://127.0.0.1:1", Secret: []byte(testSecret)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h := &handler{st: st}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, err := sniff.Detect(data[:min(len(data), sniff.HeadSize)])
		if err != nil {
			return
		}
		ctx := context.Background()
		final, _ := newKeys("fuzz", typ)
		err = h.storeChecked(ctx, typ, bytes.NewReader(data), int64(len(data)), final)
		body, _, openErr := st.Open(ctx, final)
		switch {
		case err == nil:
			if openErr != nil {
				t.Fatalf("stored %s but cannot open it: %v", typ.MIME, openErr)
			}
			got, _ := io.ReadAll(body)
			body.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("stored %d bytes, sent %d", len(got), len(data))
			}
			if err := sniff.CheckStructure(typ, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("stored a %s that fails the structure check: %v", typ.MIME, err)
			}
			if err := st.Delete(ctx, final); err != nil {
				t.Fatal(err)
			}
		case ari.ErrorCode(err) == ari.CodeUnsupportedMedia:
			if openErr == nil {
				body.Close()
				t.Fatalf("refused (%v) but the object is stored", err)
			}
			if !errors.Is(openErr, storage.ErrNotFound) {
				t.Fatalf("open after a refusal: %v", openErr)
			}
		default:
			t.Fatalf("%s: %v, want nil or 415", typ.MIME, err)
		}
		// Nothing else may be left behind.
		for _, k := range localKeys(t, dir) {
			t.Fatalf("left in storage: %s", k)
		}
	})
}

// FuzzSanitizeName: whatever name a client sends, the display name is
// non-empty valid UTF-8 of at most 255 bytes, one path component without
// control or bidirectional formatting characters, and not "." or "..".
func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"photo.png", "../../etc/passwd", `C:\x\cat.jpg`, "..", "evil\u202Egnp.exe", "bad\xffutf8", strings.Repeat("é", 200)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := sanitizeName(name, sniff.PNG)
		switch {
		case got == "" || len(got) > maxNameBytes || !utf8.ValidString(got):
			t.Fatalf("sanitizeName(%q) = %q", name, got)
		case strings.ContainsAny(got, `/\`), got == ".", got == "..":
			t.Fatalf("sanitizeName(%q) = %q: a path", name, got)
		case strings.TrimSpace(got) != got:
			t.Fatalf("sanitizeName(%q) = %q: untrimmed", name, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("sanitizeName(%q) = %q: holds %U", name, got, r)
			}
		}
		if again := sanitizeName(got, sniff.PNG); again != got {
			t.Fatalf("not stable: %q → %q → %q", name, got, again)
		}
	})
}
