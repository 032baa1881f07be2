package sniff

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ari-chat/ari-server/shared/storage/sniff/snifftest"
)

func check(data []byte) (Type, error) {
	t, err := Detect(data[:min(len(data), HeadSize)])
	if err != nil {
		return t, err
	}
	return t, CheckStructure(t, bytes.NewReader(data), int64(len(data)))
}

func TestStructureOfEveryType(t *testing.T) {
	cases := []struct {
		name string
		want Type
		data []byte
		// cut is how many trailing bytes, when missing, must make the file
		// fail (0: a cut-off file is still valid, e.g. text).
		cut int
	}{
		{"png", PNG, snifftest.PNG(t), 1},
		{"jpeg", JPEG, snifftest.JPEG(t), 1},
		{"gif", GIF, snifftest.GIF(t), 1},
		{"webp", WebP, snifftest.WebP(), 1},
		{"wav", WAV, snifftest.WAV(), 1},
		{"pdf", PDF, snifftest.PDF(), 6},
		{"mp3", MP3, snifftest.MP3(), 1},
		{"ogg", OGG, snifftest.Ogg(), 1},
		{"mp4", MP4, snifftest.MP4("isom"), 1},
		{"m4a", M4A, snifftest.MP4("M4A "), 1},
		{"webm", WebM, snifftest.WebM(), 1},
		{"text", Text, snifftest.Text(), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := check(c.data)
			if err != nil || got != c.want {
				t.Fatalf("valid file: %v, %v; want %v", got, err, c.want)
			}
			// Anything after a complete file is refused: here an executable.
			// (Short text sees the ELF already in its head.)
			if _, err := check(append(bytes.Clone(c.data), snifftest.ELF...)); !errors.Is(err, ErrBadStructure) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("file + ELF: %v, want a refusal", err)
			}
			if c.cut > 0 {
				if _, err := check(c.data[:len(c.data)-c.cut]); !errors.Is(err, ErrBadStructure) {
					t.Fatalf("cut short by %d: %v, want ErrBadStructure", c.cut, err)
				}
			}
		})
	}
}

func TestStructureRefusals(t *testing.T) {
	png := snifftest.PNG(t)
	badCRC := bytes.Clone(png)
	badCRC[len(badCRC)-20] ^= 0xFF // inside IDAT, so its CRC no longer matches
	for name, data := range map[string][]byte{
		"png signature on an executable": snifftest.PNGOnELF,
		"png with a corrupted chunk":     badCRC,
		"jpeg header on an executable":   append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0}, snifftest.ELF...),
		"gif header on an executable":    append([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"), snifftest.ELF...),
		"riff length too short":          append(snifftest.WebP(), 0, 0),
		"mp3 tag then garbage":           append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), snifftest.ELF...),
		"mp3 tag and nothing else":       []byte("ID3\x03\x00\x00\x00\x00\x00\x00"), // panicked before (found by FuzzCheckStructure)
		"mp3 tag and zero padding only":  append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), make([]byte, 40)...),
		"mp3 frames and two bytes more":  append(snifftest.MP3(), 0xFF, 0xFB), // panicked before (found by FuzzCheckStructure)
		"recording with bytes appended":  append(readSample(t, "chromium-mediarecorder.webm"), snifftest.ELF...),
		"text with a NUL far in":         append(bytes.Repeat([]byte("a"), 4000), 0),
		"mp4 box running past the end":   append(snifftest.ISOBox("ftyp", []byte("isom\x00\x00\x00\x00isom")), 0, 0, 0, 99, 'm', 'd', 'a', 't'),
	} {
		if _, err := check(data); !errors.Is(err, ErrBadStructure) {
			t.Errorf("%s: %v, want ErrBadStructure", name, err)
		}
	}
}

func TestStructureReadsOnlyTheDeclaredSize(t *testing.T) {
	data := snifftest.PNG(t)
	// The reader has one more byte than the declared size: refused, since a
	// store would otherwise keep a different file than the one checked.
	if err := CheckStructure(PNG, bytes.NewReader(append(bytes.Clone(data), 'x')), int64(len(data))); !errors.Is(err, ErrBadStructure) {
		t.Fatalf("longer source: %v", err)
	}
}
