package uploads

import (
	"bytes"
	"testing"

	"github.com/ari-chat/ari-server/shared/storage/sniff"
)

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
