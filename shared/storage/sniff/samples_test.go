package sniff

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv/browser"
)

// realSamples are files written by real encoders (testdata/samples/README.md
// says how each was made; make.sh there makes them again), so the checks are
// held to what tools in the field produce, not only to our own fixtures.
var realSamples = []struct {
	file string
	want Type
	// has checks the feature the sample is there for.
	has func(t *testing.T, b []byte)
}{
	{"lame-id3v1.mp3", MP3, hasID3v1},
	{"lame-id3v2-padded.mp3", MP3, hasPaddedID3v2},
	{"id3v2-tool-both.mp3", MP3, func(t *testing.T, b []byte) { hasPaddedID3v2(t, b); hasID3v1(t, b) }},
	{"ffmpeg-id3v1.mp3", MP3, hasID3v1},
	{"ffmpeg-live-unknown-size.webm", WebM, hasUnknownSizeSegment},
	{"chromium-mediarecorder.webm", WebM, hasUnknownSizeSegment},
	{"ffmpeg-vp8.webm", WebM, nil},
	{"ffmpeg-opus.ogg", OGG, nil},
	{"ffmpeg-vorbis.ogg", OGG, nil},
	{"ffmpeg-aac.m4a", M4A, nil},
	{"ffmpeg-h264.mp4", MP4, nil},
	{"ffmpeg-pcm.wav", WAV, nil},
	{"ffmpeg-lossless.webp", WebP, nil},
}

func readSample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "samples", name))
	if err != nil {
		t.Fatalf("sample %s: %v (testdata/samples/README.md says how to make it)", name, err)
	}
	return b
}

func TestRealEncoderSamples(t *testing.T) {
	for _, s := range realSamples {
		t.Run(s.file, func(t *testing.T) {
			b := readSample(t, s.file)
			got, err := check(b)
			if err != nil || got != s.want {
				t.Fatalf("%v, %v; want %v accepted", got, err, s.want)
			}
			if s.has != nil {
				s.has(t, b)
			}
			// The same file with one byte more or less is refused.
			if _, err := check(append(bytes.Clone(b), 0x55)); !errors.Is(err, ErrBadStructure) {
				t.Fatalf("one byte appended: %v, want ErrBadStructure", err)
			}
			if _, err := check(b[:len(b)-1]); !errors.Is(err, ErrBadStructure) {
				t.Fatalf("last byte cut: %v, want ErrBadStructure", err)
			}
		})
	}
}

func hasID3v1(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 128 || string(b[len(b)-128:len(b)-125]) != "TAG" {
		t.Fatal("no ID3v1 trailer")
	}
}

// hasPaddedID3v2 checks for an ID3v2 tag whose last bytes, inside its
// declared size, are zero padding.
func hasPaddedID3v2(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 10 || string(b[:3]) != "ID3" {
		t.Fatal("no ID3v2 tag")
	}
	n := int(b[6]&0x7F)<<21 | int(b[7]&0x7F)<<14 | int(b[8]&0x7F)<<7 | int(b[9]&0x7F)
	if 10+n > len(b) || n < 64 || !bytes.Equal(b[10+n-64:10+n], make([]byte, 64)) {
		t.Fatalf("ID3v2 tag of %d bytes is not zero-padded", n)
	}
}

// isUnknownSize reports whether the Segment after the EBML header has the
// all-ones "unknown" size.
func isUnknownSize(b []byte) bool {
	i := bytes.Index(b, []byte{0x18, 0x53, 0x80, 0x67})
	if i < 0 || i+5 > len(b) {
		return false
	}
	first := b[i+4]
	width := 1
	for mask := byte(0x80); mask != 0 && first&mask == 0; mask >>= 1 {
		width++
	}
	if width > 8 || i+4+width > len(b) {
		return false
	}
	v := uint64(first) & (0xFF >> width)
	for _, c := range b[i+5 : i+4+width] {
		v = v<<8 | uint64(c)
	}
	return v == 1<<(7*width)-1
}

func hasUnknownSizeSegment(t *testing.T, b []byte) {
	t.Helper()
	if !isUnknownSize(b) {
		t.Fatal("the Segment's size is known; this sample is here for an unknown one")
	}
}

// TestMediaRecorderWebM records a canvas for a moment with headless
// Chromium's MediaRecorder, the encoder behind browser voice and video
// notes, and checks what it produced: a WebM whose Segment has unknown
// size. ARI_UPDATE_SAMPLES=1 also writes it to
// testdata/samples/chromium-mediarecorder.webm.
func TestMediaRecorderWebM(t *testing.T) {
	recorded := make(chan []byte, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /record.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, recordPage)
	})
	mux.HandleFunc("POST /recorded", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		select {
		case recorded <- b:
		default:
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	var page struct {
		MIME string `json:"mime"`
		Size int    `json:"size"`
	}
	browser.Run(t, srv.URL+"/record.html", 90*time.Second, &page)
	var b []byte
	select {
	case b = <-recorded:
	case <-time.After(10 * time.Second):
		t.Fatal("the page reported but its recording never arrived")
	}
	t.Logf("MediaRecorder wrote %d bytes as %s", len(b), page.MIME)
	if len(b) != page.Size || len(b) < 64 {
		t.Fatalf("got %d bytes, the page sent %d", len(b), page.Size)
	}
	got, err := check(b)
	if err != nil || got != WebM {
		t.Fatalf("MediaRecorder's file: %v, %v; want video/webm accepted (starts % x)", got, err, b[:min(len(b), 48)])
	}
	hasUnknownSizeSegment(t, b)
	if os.Getenv("ARI_UPDATE_SAMPLES") == "1" {
		if err := os.WriteFile(filepath.Join("testdata", "samples", "chromium-mediarecorder.webm"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Tell the EBML header's DocType apart from Matroska's: it must say webm.
	if i := bytes.Index(b[:min(len(b), 64)], []byte{0x42, 0x82}); i < 0 || !bytes.Contains(b[i:min(len(b), i+8)], []byte("webm")) {
		t.Fatalf("DocType is not webm: % x", b[:min(len(b), 64)])
	}
}

// recordPage draws a moving square on a canvas, records it for 600 ms as
// VP8 WebM and posts the whole recording back.
const recordPage = `<!doctype html><meta charset="utf-8"><canvas id="c" width="64" height="48"></canvas>
<script>
(async () => {
  try {
    const c = document.getElementById('c'), g = c.getContext('2d');
    let x = 0;
    const draw = setInterval(() => { g.fillStyle = '#203040'; g.fillRect(0, 0, 64, 48); g.fillStyle = '#f0a000'; g.fillRect(x++ % 56, 16, 8, 8); }, 40);
    const mime = 'video/webm;codecs=vp8';
    if (!MediaRecorder.isTypeSupported(mime)) throw new Error(mime + ' is not supported');
    const rec = new MediaRecorder(c.captureStream(25), { mimeType: mime });
    const parts = [];
    rec.ondataavailable = (e) => { if (e.data.size) parts.push(e.data); };
    const stopped = new Promise((resolve) => { rec.onstop = resolve; });
    rec.start(200);
    await new Promise((r) => setTimeout(r, 600));
    rec.stop();
    await stopped;
    clearInterval(draw);
    const blob = new Blob(parts, { type: mime });
    const res = await fetch('/recorded', { method: 'POST', body: blob });
    if (!res.ok) throw new Error('upload ' + res.status);
    window.__result = { mime: rec.mimeType, size: blob.size };
  } catch (e) {
    console.error(String(e));
    window.__result = { mime: 'error: ' + e, size: -1 };
  }
})();
</script>`
