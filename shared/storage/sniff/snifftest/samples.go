// Package snifftest makes small but real files of every type sniff allows,
// for tests of sniffing, structure checks and uploads, so no test carries
// binary fixtures.
package snifftest

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

func testImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 8, 6))
	for x := range 8 {
		for y := range 6 {
			img.Set(x, y, color.RGBA{uint8(x * 30), uint8(y * 40), 90, 255})
		}
	}
	return img
}

// PNG, JPEG and GIF encode one small 8×6 picture.
func PNG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func JPEG(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func GIF(t testing.TB) []byte {
	var b bytes.Buffer
	if err := gif.Encode(&b, testImage(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func le32(n int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(n)) }

func riff(form string, chunks ...[]byte) []byte {
	body := []byte(form)
	for _, c := range chunks {
		body = append(body, c...)
	}
	return append(append([]byte("RIFF"), le32(len(body))...), body...)
}

func riffChunk(id string, data []byte) []byte {
	c := append(append([]byte(id), le32(len(data))...), data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// WebP is a RIFF file holding one lossless VP8L chunk.
func WebP() []byte {
	return riff("WEBP", riffChunk("VP8L", []byte{0x2F, 0x00, 0x00, 0x00, 0x00}))
}

// WAV is a RIFF file with a PCM format chunk and 64 bytes of silence.
func WAV() []byte {
	fmtChunk := []byte{1, 0, 1, 0, 0x44, 0xAC, 0, 0, 0x88, 0x58, 1, 0, 2, 0, 16, 0}
	return riff("WAVE", riffChunk("fmt ", fmtChunk), riffChunk("data", make([]byte, 64)))
}

// PDF is a minimal document ending in %%EOF.
func PDF() []byte {
	return []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
}

// MP3 is an empty ID3v2.3 tag and three silent 128 kbit/s 44.1 kHz
// MPEG-1 Layer III frames of 417 bytes.
func MP3() []byte {
	b := []byte("ID3\x03\x00\x00\x00\x00\x00\x00")
	for range 3 {
		frame := make([]byte, 417)
		copy(frame, []byte{0xFF, 0xFB, 0x90, 0x00})
		b = append(b, frame...)
	}
	return b
}

func oggPage(serial byte, body []byte) []byte {
	p := []byte("OggS\x00\x02")
	p = append(p, make([]byte, 8)...)             // granule position
	p = append(p, serial, 0, 0, 0, 0, 0, 0, 0)    // serial, sequence
	p = append(p, 0, 0, 0, 0, 1, byte(len(body))) // CRC (not checked), one segment
	return append(p, body...)
}

// Ogg is two Ogg pages of one logical stream.
func Ogg() []byte {
	return append(oggPage(1, []byte("\x01vorbis-header-bytes")), oggPage(1, make([]byte, 40))...)
}

// ISOBox is one ISO base media box of type typ around data.
func ISOBox(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(data)))
	return append(append(b, typ...), data...)
}

// MP4 is an ftyp box with the major brand brand (M4A for audio/mp4), a free
// box and an mdat box.
func MP4(brand string) []byte {
	ftyp := ISOBox("ftyp", []byte(brand+"\x00\x00\x02\x00"+brand+"mp41"))
	return append(append(ftyp, ISOBox("free", nil)...), ISOBox("mdat", make([]byte, 100))...)
}

// WebM is an EBML header with DocType webm and a Segment of known size.
func WebM() []byte {
	doc := []byte{0x42, 0x82, 0x84, 'w', 'e', 'b', 'm'}
	b := append([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x80 | byte(len(doc))}, doc...)
	seg := make([]byte, 50)
	return append(append(b, 0x18, 0x53, 0x80, 0x67, 0x80|byte(len(seg))), seg...)
}

// Text is plain UTF-8 text with non-ASCII letters and an emoji.
func Text() []byte { return []byte("Hello, Ari!\nZweite Zeile: grüße 👋\n") }

// ELF is the start of a Linux executable.
var ELF = append([]byte("\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x3e\x00"), make([]byte, 200)...)

// PNGOnELF is the PNG signature followed by an executable.
var PNGOnELF = append([]byte("\x89PNG\r\n\x1a\n"), ELF...)
