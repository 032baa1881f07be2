package uploads

import (
	"bytes"
	"errors"
	"testing"

	"github.com/ari-chat/ari-server/shared/storage/sniff"
)

func check(data []byte) (sniff.Type, error) {
	t, err := sniff.Detect(data[:min(len(data), sniff.HeadSize)])
	if err != nil {
		return t, err
	}
	return t, checkStructure(t, bytes.NewReader(data), int64(len(data)))
}

func TestStructureOfEveryType(t *testing.T) {
	cases := []struct {
		name string
		want sniff.Type
		data []byte
		// cut is how many trailing bytes, when missing, must make the file
		// fail (0: a cut-off file is still valid, e.g. text).
		cut int
	}{
		{"png", sniff.PNG, pngFile(t), 1},
		{"jpeg", sniff.JPEG, jpegFile(t), 1},
		{"gif", sniff.GIF, gifFile(t), 1},
		{"webp", sniff.WebP, webpFile(), 1},
		{"wav", sniff.WAV, wavFile(), 1},
		{"pdf", sniff.PDF, pdfFile(), 6},
		{"mp3", sniff.MP3, mp3File(), 1},
		{"ogg", sniff.OGG, oggFile(), 1},
		{"mp4", sniff.MP4, mp4File("isom"), 1},
		{"m4a", sniff.M4A, mp4File("M4A "), 1},
		{"webm", sniff.WebM, webmFile(), 1},
		{"text", sniff.Text, textFile(), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := check(c.data)
			if err != nil || got != c.want {
				t.Fatalf("valid file: %v, %v; want %v", got, err, c.want)
			}
			// Anything after a complete file is refused: here an executable.
			// (Short text sees the ELF already in its head.)
			if _, err := check(append(bytes.Clone(c.data), elf...)); !errors.Is(err, errBadStructure) && !errors.Is(err, sniff.ErrUnsupported) {
				t.Fatalf("file + ELF: %v, want a refusal", err)
			}
			if c.cut > 0 {
				if _, err := check(c.data[:len(c.data)-c.cut]); !errors.Is(err, errBadStructure) {
					t.Fatalf("cut short by %d: %v, want errBadStructure", c.cut, err)
				}
			}
		})
	}
}

func TestStructureRefusals(t *testing.T) {
	png := pngFile(t)
	badCRC := bytes.Clone(png)
	badCRC[len(badCRC)-20] ^= 0xFF // inside IDAT, so its CRC no longer matches
	for name, data := range map[string][]byte{
		"png signature on an executable": pngOnELF,
		"png with a corrupted chunk":     badCRC,
		"jpeg header on an executable":   append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0}, elf...),
		"gif header on an executable":    append([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00"), elf...),
		"riff length too short":          append(webpFile(), 0, 0),
		"mp3 tag then garbage":           append([]byte("ID3\x03\x00\x00\x00\x00\x00\x00"), elf...),
		"text with a NUL far in":         append(bytes.Repeat([]byte("a"), 4000), 0),
		"mp4 box running past the end":   append(isoBox("ftyp", []byte("isom\x00\x00\x00\x00isom")), 0, 0, 0, 99, 'm', 'd', 'a', 't'),
	} {
		if _, err := check(data); !errors.Is(err, errBadStructure) {
			t.Errorf("%s: %v, want errBadStructure", name, err)
		}
	}
}

func TestStructureReadsOnlyTheDeclaredSize(t *testing.T) {
	data := pngFile(t)
	// The reader has one more byte than the declared size: refused, since a
	// store would otherwise keep a different file than the one checked.
	if err := checkStructure(sniff.PNG, bytes.NewReader(append(bytes.Clone(data), 'x')), int64(len(data))); !errors.Is(err, errBadStructure) {
		t.Fatalf("longer source: %v", err)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"photo.png":                            "photo.png",
		"../../etc/passwd":                     "passwd",
		`C:\Users\me\Desktop\cat.jpg`:          "cat.jpg",
		"..":                                   "file.png",
		"  \t\x01\x7f ":                        "file.png",
		"evil\u202Egnp.exe":                    "evilgnp.exe",
		"line\nbreak\r.png":                    "linebreak.png",
		"bad\xffutf8.png":                      "badutf8.png",
		"trailing dots...":                     "trailing dots",
		string(bytes.Repeat([]byte("é"), 200)): string(bytes.Repeat([]byte("é"), 127)),
	} {
		if got := sanitizeName(in, sniff.PNG); got != want {
			t.Errorf("sanitizeName(%q) = %q, want %q", in, got, want)
		}
	}
}
