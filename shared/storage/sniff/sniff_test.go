package sniff

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"strings"
	"testing"
)

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	t.Helper()
	img := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	var buf bytes.Buffer
	if err := enc(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ownExecutable is the running test binary: a real ELF file.
func ownExecutable(t *testing.T) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, HeadSize)
	n, err := f.Read(head)
	if err != nil {
		t.Fatal(err)
	}
	return head[:n]
}

func riff(kind string) []byte {
	return append([]byte("RIFF\x24\x00\x00\x00"), []byte(kind+"fmt \x10\x00\x00\x00")...)
}

func ftyp(brand string) []byte {
	return append([]byte("\x00\x00\x00\x18ftyp"), []byte(brand+"\x00\x00\x02\x00isommp41")...)
}

func TestDetect(t *testing.T) {
	pngBytes := encoded(t, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) })
	jpegBytes := encoded(t, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) })
	gifBytes := encoded(t, func(b *bytes.Buffer, i image.Image) error { return gif.Encode(b, i, nil) })
	elf := ownExecutable(t)
	if !bytes.HasPrefix(elf, []byte("\x7fELF")) {
		t.Fatalf("test binary is not ELF: % x", elf[:4])
	}
	pngThenELF := append(append([]byte{}, pngBytes[:8]...), elf...)

	tests := []struct {
		name string
		head []byte
		want Type
		err  error
	}{
		{"png from image/png", pngBytes, PNG, nil},
		{"jpeg from image/jpeg", jpegBytes, JPEG, nil},
		{"gif from image/gif", gifBytes, GIF, nil},
		{"gif87a", []byte("GIF87a\x01\x00\x01\x00"), GIF, nil},
		{"webp", append([]byte("RIFF\x1a\x00\x00\x00WEBPVP8L"), 0x0d, 0, 0, 0), WebP, nil},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), PDF, nil},
		{"mp3 with id3", []byte("ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb\x90\x00"), MP3, nil},
		{"mp3 frame sync", []byte{0xFF, 0xFB, 0x90, 0x64, 0, 0, 0, 0}, MP3, nil},
		{"ogg", []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"), OGG, nil},
		{"wav", riff("WAVE"), WAV, nil},
		{"m4a", ftyp("M4A "), M4A, nil},
		{"mp4 isom", ftyp("isom"), MP4, nil},
		{"mp4 mp42", ftyp("mp42"), MP4, nil},
		{"webm", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04"), WebM, nil},
		{"plain ascii", []byte("hello\r\n\tworld\n"), Text, nil},
		{"utf-8 with bom", []byte("\xef\xbb\xbfgrüße, 世界 🙂\n"), Text, nil},
		{"utf-8 rune cut at head end", []byte("abc \xe4\xb8"), Text, nil},
		{"less-than that is not markup", []byte("<3 and 1 < 2\n"), Text, nil},
		{"shebang line is text", []byte("#!/bin/sh\necho hi\n"), Text, nil},
		{"png header on elf body", pngThenELF, PNG, nil},

		{"zero bytes", []byte{}, Type{}, ErrEmpty},
		{"elf executable", elf, Type{}, ErrUnsupported},
		{"pe executable", []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00"), Type{}, ErrUnsupported},
		{"html doctype", []byte("  \n<!DOCTYPE html><html><body>hi"), Type{}, ErrUnsupported},
		{"html tag", []byte("<html><script>alert(1)</script>"), Type{}, ErrUnsupported},
		{"script tag after bom and spaces", []byte("\xef\xbb\xbf \t\r\n<ScRiPt>alert(1)</script>"), Type{}, ErrUnsupported},
		{"svg via xml", []byte("<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\">"), Type{}, ErrUnsupported},
		{"html comment", []byte("<!-- x --><img src=x onerror=alert(1)>"), Type{}, ErrUnsupported},
		{"zip archive", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), Type{}, ErrUnsupported},
		{"nul in text", []byte("hello\x00world"), Type{}, ErrUnsupported},
		{"escape char in text", []byte("red \x1b[31m text"), Type{}, ErrUnsupported},
		{"c1 control in text", []byte("a\xc2\x85b"), Type{}, ErrUnsupported},
		{"invalid utf-8", []byte("caf\xe9 latin-1"), Type{}, ErrUnsupported},
		{"quicktime", ftyp("qt  "), Type{}, ErrUnsupported},
		{"heic", ftyp("heic"), Type{}, ErrUnsupported},
		{"matroska", []byte("\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska"), Type{}, ErrUnsupported},
		{"aac adts is not mp3", []byte{0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC}, Type{}, ErrUnsupported},
		{"riff avi", riff("AVI "), Type{}, ErrUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect(tc.head)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Detect err = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Fatalf("Detect = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// An HTML document saved as "x.png" and declared image/png is still refused:
// the name and declared type never take part in detection.
func TestHTMLNamedPNGRefused(t *testing.T) {
	declared, ok := Canonical("image/png")
	if !ok || declared != PNG {
		t.Fatalf("Canonical(image/png) = %v, %v", declared, ok)
	}
	_, err := Detect([]byte("<!doctype html>\n<title>x.png</title><script>steal()</script>"))
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err = %v, want ErrUnsupported", err)
	}
}

func TestCanonical(t *testing.T) {
	tests := map[string]Type{
		"image/PNG":                 PNG,
		"image/jpg":                 JPEG,
		"text/plain; charset=utf-8": Text,
		"audio/x-wav":               WAV,
		"audio/mp3":                 MP3,
		"video/webm":                WebM,
	}
	for in, want := range tests {
		if got, ok := Canonical(in); !ok || got != want {
			t.Errorf("Canonical(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"text/html", "image/svg+xml", "application/octet-stream", "", "video/quicktime"} {
		if got, ok := Canonical(in); ok {
			t.Errorf("Canonical(%q) = %v, want refused", in, got)
		}
	}
}

func TestTextCheckerAcrossChunks(t *testing.T) {
	text := []byte(strings.Repeat("grüße 世界 🙂\r\n", 50))
	// Every split point, so each multi-byte rune is cut at each of its bytes.
	for cut := 0; cut <= len(text); cut++ {
		var c TextChecker
		if _, err := c.Write(text[:cut]); err != nil {
			t.Fatalf("cut %d: first write: %v", cut, err)
		}
		if _, err := c.Write(text[cut:]); err != nil {
			t.Fatalf("cut %d: second write: %v", cut, err)
		}
		if err := c.Close(); err != nil {
			t.Fatalf("cut %d: close: %v", cut, err)
		}
	}

	var c TextChecker
	if _, err := c.Write([]byte("ok \xf0\x9f")); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); !errors.Is(err, ErrNotText) {
		t.Fatalf("unfinished rune: Close = %v, want ErrNotText", err)
	}

	c = TextChecker{}
	if _, err := c.Write([]byte("fine so far \xe4")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("\x00 then nul")); !errors.Is(err, ErrNotText) {
		t.Fatalf("broken carried rune: Write = %v, want ErrNotText", err)
	}

	c = TextChecker{}
	if _, err := c.Write([]byte("late nul\x00")); !errors.Is(err, ErrNotText) {
		t.Fatalf("nul: Write = %v, want ErrNotText", err)
	}
}
