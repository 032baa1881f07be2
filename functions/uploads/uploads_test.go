package uploads

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/storage/sniff/snifftest"
	"github.com/ari-chat/ari-server/shared/testenv"
)

const smallMax = 64 << 10

func TestUploadFetchDelete(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, smallMax)
			u := testenv.NewUser(t, e.db, "uploader")
			img := snifftest.PNG(t)

			r := e.upload(u.Token, part{"file", "holiday photo.png", "image/png", img})
			if r.status != http.StatusCreated {
				t.Fatalf("upload: %d %s", r.status, r.body)
			}
			a := r.attachment(t)
			if a.ContentType != "image/png" || a.Size != int64(len(img)) || a.Name != "holiday photo.png" ||
				a.Status != ari.AttachmentReady || a.URL == "" || a.CreatedAt.IsZero() {
				t.Fatalf("attachment %+v", a)
			}
			for _, field := range []string{`"id"`, `"url"`, `"contentType"`, `"size"`, `"name"`, `"createdAt"`} {
				if !bytes.Contains(r.body, []byte(field)) {
					t.Fatalf("response lacks %s: %s", field, r.body)
				}
			}
			keys := e.objects()
			if len(keys) != 1 || !strings.HasPrefix(keys[0], "u/"+u.ID+"/") || !strings.HasSuffix(keys[0], ".png") {
				t.Fatalf("stored keys %v", keys)
			}

			got := e.fetch(a.URL)
			if got.status != http.StatusOK || !bytes.Equal(got.body, img) {
				t.Fatalf("fetch back: %d, %d bytes (want %d)", got.status, len(got.body), len(img))
			}
			if ct := got.header.Get("Content-Type"); ct != "image/png" {
				t.Fatalf("served as %q", ct)
			}

			// GET gives the caller's attachment with a working, fresh link.
			r = e.do(http.MethodGet, "/api/uploads/"+a.ID, u.Token, "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("get: %d %s", r.status, r.body)
			}
			again := r.attachment(t)
			if again.ID != a.ID || again.URLExpiresAt == nil || !again.URLExpiresAt.After(time.Now()) {
				t.Fatalf("get: %+v", again)
			}
			if got := e.fetch(again.URL); !bytes.Equal(got.body, img) {
				t.Fatalf("refreshed link: %d", got.status)
			}

			if r := e.do(http.MethodDelete, "/api/uploads/"+a.ID, u.Token, "", nil); r.status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
			if keys := e.objects(); len(keys) != 0 {
				t.Fatalf("objects after delete: %v", keys)
			}
			if n := e.rows(u.ID); n != 0 {
				t.Fatalf("%d rows after delete", n)
			}
			if r := e.do(http.MethodGet, "/api/uploads/"+a.ID, u.Token, "", nil); r.status != http.StatusNotFound {
				t.Fatalf("get after delete: %d", r.status)
			}
			if got := e.fetch(a.URL); got.status == http.StatusOK {
				t.Fatal("the old link still serves the deleted file")
			}
		})
	}
}

type presigned struct {
	AttachmentID string `json:"attachmentId"`
	Upload       struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Expires ari.Time          `json:"expires"`
	} `json:"upload"`
}

func (e *env) presign(token, name, contentType string, size int) (presigned, reply) {
	e.t.Helper()
	r := e.postJSON("/api/uploads/presign", token, map[string]any{"name": name, "contentType": contentType, "size": size})
	var p presigned
	if r.status == http.StatusCreated {
		if err := json.Unmarshal(r.body, &p); err != nil {
			e.t.Fatal(err)
		}
	}
	return p, r
}

// put sends data to a presigned upload exactly as a client would.
func (e *env) put(p presigned, data []byte) reply {
	e.t.Helper()
	return e.putSized(p, data, false)
}

// putSized sends the presigned headers but, when honest, the real length of
// data rather than the signed one.
func (e *env) putSized(p presigned, data []byte, honest bool) reply {
	e.t.Helper()
	req, err := http.NewRequest(p.Upload.Method, p.Upload.URL, bytes.NewReader(data))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range p.Upload.Headers {
		if strings.EqualFold(k, "Content-Length") {
			if !honest {
				req.ContentLength, _ = strconv.ParseInt(v, 10, 64)
			}
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return reply{status: resp.StatusCode}
}

func TestPresignPutComplete(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, smallMax)
			u := testenv.NewUser(t, e.db, "direct")
			img := snifftest.JPEG(t)

			p, r := e.presign(u.Token, "scan.jpg", "image/jpeg", len(img))
			if r.status != http.StatusCreated {
				t.Fatalf("presign: %d %s", r.status, r.body)
			}
			if p.AttachmentID == "" || p.Upload.Method != http.MethodPut || p.Upload.URL == "" ||
				p.Upload.Headers["Content-Type"] != "image/jpeg" || !p.Upload.Expires.After(time.Now()) {
				t.Fatalf("presign answer %s", r.body)
			}
			// Not usable before it is completed, and not completable before the PUT.
			if r := e.do(http.MethodGet, "/api/uploads/"+p.AttachmentID, u.Token, "", nil); r.attachment(t).Status != ari.AttachmentPending || r.attachment(t).URL != "" {
				t.Fatalf("pending attachment: %s", r.body)
			}
			complete := "/api/uploads/" + p.AttachmentID + "/complete"
			if r := e.do(http.MethodPost, complete, u.Token, "", nil); r.status != http.StatusConflict {
				t.Fatalf("complete before upload: %d %s", r.status, r.body)
			}

			if r := e.put(p, img); r.status != http.StatusOK {
				t.Fatalf("presigned PUT: %d", r.status)
			}
			r = e.do(http.MethodPost, complete, u.Token, "", nil)
			if r.status != http.StatusOK {
				t.Fatalf("complete: %d %s", r.status, r.body)
			}
			a := r.attachment(t)
			if a.Status != ari.AttachmentReady || a.ContentType != "image/jpeg" || a.Size != int64(len(img)) || a.Name != "scan.jpg" {
				t.Fatalf("completed %+v", a)
			}
			if got := e.fetch(a.URL); !bytes.Equal(got.body, img) {
				t.Fatalf("fetch back: %d, %d bytes", got.status, len(got.body))
			}
			// The checked copy is the only object; the writable landing key is gone.
			keys := e.objects()
			if len(keys) != 1 || !strings.HasPrefix(keys[0], "u/"+u.ID+"/") {
				t.Fatalf("objects after complete: %v", keys)
			}
			// Completing again is harmless.
			if r := e.do(http.MethodPost, complete, u.Token, "", nil); r.status != http.StatusOK || r.attachment(t).ID != a.ID {
				t.Fatalf("second complete: %d %s", r.status, r.body)
			}
			// A PUT to the old URL after completion cannot touch the checked file.
			e.put(p, bytes.Repeat([]byte{0}, len(img)))
			if got := e.fetch(a.URL); !bytes.Equal(got.body, img) {
				t.Fatal("the checked file changed after a second PUT")
			}

			if r := e.do(http.MethodDelete, "/api/uploads/"+a.ID, u.Token, "", nil); r.status != http.StatusNoContent {
				t.Fatalf("delete: %d", r.status)
			}
			for _, k := range e.objects() {
				if strings.HasPrefix(k, "u/") {
					t.Fatalf("checked object kept after delete: %s", k)
				}
			}
		})
	}
}

func TestPresignedBadObjectsAreDeleted(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, smallMax)
			u := testenv.NewUser(t, e.db, "sneaky")
			html := []byte("<!doctype html><script>alert(1)</script>")
			for _, c := range []struct {
				name, contentType string
				data              []byte
				status            int
			}{
				{"png header on an executable", "image/png", snifftest.PNGOnELF, http.StatusUnsupportedMediaType},
				{"html declared as png", "image/png", html, http.StatusUnsupportedMediaType},
				{"jpeg declared as png", "image/png", snifftest.JPEG(t), http.StatusUnsupportedMediaType},
				{"png with a trailer", "image/png", append(snifftest.PNG(t), snifftest.ELF...), http.StatusUnsupportedMediaType},
			} {
				p, r := e.presign(u.Token, "x.png", c.contentType, len(c.data))
				if r.status != http.StatusCreated {
					t.Fatalf("%s: presign %d %s", c.name, r.status, r.body)
				}
				if r := e.put(p, c.data); r.status != http.StatusOK {
					t.Fatalf("%s: PUT %d", c.name, r.status)
				}
				r = e.do(http.MethodPost, "/api/uploads/"+p.AttachmentID+"/complete", u.Token, "", nil)
				if r.status != c.status {
					t.Fatalf("%s: complete %d %s, want %d", c.name, r.status, r.body, c.status)
				}
				if keys := e.objects(); len(keys) != 0 {
					t.Fatalf("%s: objects kept: %v", c.name, keys)
				}
				if n := e.rows(u.ID); n != 0 {
					t.Fatalf("%s: %d rows kept", c.name, n)
				}
			}

			// The signature binds size and type: another size is refused by storage.
			p, _ := e.presign(u.Token, "x.png", "image/png", 100)
			if r := e.putSized(p, snifftest.PNG(t), true); r.status < 400 {
				t.Fatalf("PUT of another size: %d", r.status)
			}
		})
	}
}

func TestPresignRefusals(t *testing.T) {
	e := newEnv(t, "local", smallMax)
	u := testenv.NewUser(t, e.db, "presigner")
	for _, c := range []struct {
		name        string
		body        map[string]any
		status      int
		code        ari.Code
		wantNothing bool
	}{
		{"html", map[string]any{"name": "a.html", "contentType": "text/html", "size": 10}, 415, ari.CodeUnsupportedMedia, true},
		{"svg", map[string]any{"name": "a.svg", "contentType": "image/svg+xml", "size": 10}, 415, ari.CodeUnsupportedMedia, true},
		{"over the limit", map[string]any{"name": "a.png", "contentType": "image/png", "size": smallMax + 1}, 413, ari.CodeTooLarge, true},
		{"zero bytes", map[string]any{"name": "a.png", "contentType": "image/png", "size": 0}, 400, ari.CodeInvalid, true},
		{"NUL in name", map[string]any{"name": "a\x00.png", "contentType": "image/png", "size": 10}, 400, ari.CodeInvalid, true},
		{"unknown field", map[string]any{"name": "a.png", "contentType": "image/png", "size": 10, "key": "../x"}, 400, ari.CodeInvalid, true},
	} {
		r := e.postJSON("/api/uploads/presign", u.Token, c.body)
		if r.status != c.status || r.errorCode() != c.code {
			t.Fatalf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	if n := e.rows(u.ID); n != 0 {
		t.Fatalf("%d rows after refusals", n)
	}
	// A more precise text type is signed as text/plain, what the bytes must be.
	p, r := e.presign(u.Token, "notes.md", "text/markdown; charset=utf-8", 10)
	if r.status != http.StatusCreated || p.Upload.Headers["Content-Type"] != "text/plain" {
		t.Fatalf("markdown presign: %d %s", r.status, r.body)
	}
	if r := e.postJSON("/api/uploads/presign", "", map[string]any{"name": "a.png", "contentType": "image/png", "size": 10}); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous presign: %d", r.status)
	}
}

func TestOtherUsersSeeNotFound(t *testing.T) {
	e := newEnv(t, "local", smallMax)
	alice := testenv.NewUser(t, e.db, "alice")
	bob := testenv.NewUser(t, e.db, "bob")
	a := e.upload(alice.Token, part{"file", "a.gif", "image/gif", snifftest.GIF(t)}).attachment(t)
	p, _ := e.presign(alice.Token, "b.png", "image/png", 10)
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/api/uploads/" + a.ID},
		{http.MethodDelete, "/api/uploads/" + a.ID},
		{http.MethodPost, "/api/uploads/" + p.AttachmentID + "/complete"},
		{http.MethodGet, "/api/uploads/no-such-id"},
	} {
		r := e.do(req.method, req.path, bob.Token, "", nil)
		if r.status != http.StatusNotFound || r.errorCode() != ari.CodeNotFound {
			t.Fatalf("bob %s %s: %d %s", req.method, req.path, r.status, r.body)
		}
	}
	if r := e.do(http.MethodGet, "/api/uploads/"+a.ID, "", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous get: %d", r.status)
	}
	if n := e.rows(alice.ID); n != 2 {
		t.Fatalf("alice has %d rows, want 2", n)
	}
}

func TestEveryAllowedTypeUploads(t *testing.T) {
	e := newEnv(t, "local", smallMax)
	u := testenv.NewUser(t, e.db, "collector")
	for name, c := range map[string]struct {
		data []byte
		want string
	}{
		"a.png": {snifftest.PNG(t), "image/png"}, "a.jpg": {snifftest.JPEG(t), "image/jpeg"}, "a.gif": {snifftest.GIF(t), "image/gif"},
		"a.webp": {snifftest.WebP(), "image/webp"}, "a.pdf": {snifftest.PDF(), "application/pdf"}, "a.txt": {snifftest.Text(), "text/plain"},
		"a.mp3": {snifftest.MP3(), "audio/mpeg"}, "a.ogg": {snifftest.Ogg(), "audio/ogg"}, "a.wav": {snifftest.WAV(), "audio/wav"},
		"a.m4a": {snifftest.MP4("M4A "), "audio/mp4"}, "a.mp4": {snifftest.MP4("isom"), "video/mp4"}, "a.webm": {snifftest.WebM(), "video/webm"},
	} {
		// No declared type: the content alone decides.
		r := e.upload(u.Token, part{"file", name, "", c.data})
		if r.status != http.StatusCreated {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
		if a := r.attachment(t); a.ContentType != c.want {
			t.Fatalf("%s stored as %s, want %s", name, a.ContentType, c.want)
		}
	}
	// A more precise text type agrees with text/plain.
	if r := e.upload(u.Token, part{"file", "notes.md", "text/markdown", snifftest.Text()}); r.status != http.StatusCreated {
		t.Fatalf("markdown: %d %s", r.status, r.body)
	}
	if n := len(e.objects()); n != 13 {
		t.Fatalf("%d objects, want 13", n)
	}
}

func TestNameIsSanitised(t *testing.T) {
	e := newEnv(t, "local", smallMax)
	u := testenv.NewUser(t, e.db, "namer")
	// Control characters cannot appear raw in a part header (the parser
	// refuses them); RFC 2231 encoding gets them through.
	r := e.upload(u.Token, part{"file", "UTF-8''..%5C..%5C..%5Cetc%5Cpass%09wd%1B.png", "image/png", snifftest.PNG(t)})
	if r.status != http.StatusCreated {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if a := r.attachment(t); a.Name != "passwd.png" {
		t.Fatalf("name %q", a.Name)
	}
	keys := e.objects()
	if len(keys) != 1 || strings.Contains(keys[0], "..") || strings.Contains(keys[0], "passwd") {
		t.Fatalf("keys %v", keys)
	}
}

func TestBadUploadsStoreNothing(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend, smallMax)
			u := testenv.NewUser(t, e.db, "attacker")
			html := []byte("<html><body><script>alert(document.cookie)</script></body></html>")
			atMax := bytes.Repeat([]byte("a"), smallMax)
			cases := []struct {
				name   string
				parts  []part
				status int
				code   ari.Code
			}{
				{"png header on an executable", []part{{"file", "cat.png", "image/png", snifftest.PNGOnELF}}, 415, ari.CodeUnsupportedMedia},
				{"png header on an executable, no type", []part{{"file", "cat.png", "", snifftest.PNGOnELF}}, 415, ari.CodeUnsupportedMedia},
				{"valid png followed by an executable", []part{{"file", "cat.png", "image/png", append(snifftest.PNG(t), snifftest.ELF...)}}, 415, ari.CodeUnsupportedMedia},
				{"html named .png", []part{{"file", "cat.png", "image/png", html}}, 415, ari.CodeUnsupportedMedia},
				{"html named .png, declared html", []part{{"file", "cat.png", "text/html", html}}, 415, ari.CodeUnsupportedMedia},
				{"jpeg declared as png", []part{{"file", "cat.png", "image/png", snifftest.JPEG(t)}}, 415, ari.CodeUnsupportedMedia},
				{"text declared as html", []part{{"file", "a.html", "text/html", snifftest.Text()}}, 415, ari.CodeUnsupportedMedia},
				{"an executable", []part{{"file", "run.txt", "text/plain", snifftest.ELF}}, 415, ari.CodeUnsupportedMedia},
				{"zero bytes", []part{{"file", "empty.png", "image/png", nil}}, 400, ari.CodeInvalid},
				{"one byte over the limit", []part{{"file", "big.txt", "text/plain", append(bytes.Clone(atMax), 'a')}}, 413, ari.CodeTooLarge},
				{"name with ../ and NUL", []part{{"file", "../../etc/passwd\x00.png", "image/png", snifftest.PNG(t)}}, 400, ari.CodeInvalid},
				{"name with ../ and encoded NUL", []part{{"file", "UTF-8''..%2F..%2Fetc%2Fpasswd%00.png", "image/png", snifftest.PNG(t)}}, 400, ari.CodeInvalid},
				{"name not UTF-8 (encoded)", []part{{"file", "UTF-8''cat%FF%FE.png", "image/png", snifftest.PNG(t)}}, 400, ari.CodeInvalid},
				{"name with truncated UTF-8", []part{{"file", "cat\xc3.png", "image/png", snifftest.PNG(t)}}, 400, ari.CodeInvalid},
				{"two files", []part{{"file", "a.png", "image/png", snifftest.PNG(t)}, {"file", "b.png", "image/png", snifftest.PNG(t)}}, 400, ari.CodeInvalid},
				{"a file and another field", []part{{"file", "a.png", "image/png", snifftest.PNG(t)}, {"other", "b.png", "image/png", snifftest.PNG(t)}}, 400, ari.CodeInvalid},
				{"missing file field", []part{{"note", "", "", []byte("hello")}}, 400, ari.CodeInvalid},
				{"no parts at all", nil, 400, ari.CodeInvalid},
			}
			for _, c := range cases {
				r := e.upload(u.Token, c.parts...)
				if r.status != c.status || r.errorCode() != c.code {
					t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
				}
				if strings.Contains(c.name, "encoded NUL") && !bytes.Contains(r.body, []byte("U+0000")) {
					t.Errorf("%s: refused for another reason: %s", c.name, r.body)
				}
				if keys := e.objects(); len(keys) != 0 {
					t.Fatalf("%s: objects stored: %v", c.name, keys)
				}
				if n := e.rows(u.ID); n != 0 {
					t.Fatalf("%s: %d rows stored", c.name, n)
				}
			}

			// Not multipart at all.
			r := e.do(http.MethodPost, "/api/uploads", u.Token, "image/png", bytes.NewReader(snifftest.PNG(t)))
			if r.status != http.StatusUnsupportedMediaType {
				t.Fatalf("raw body: %d %s", r.status, r.body)
			}
			// A body far over the limit is refused from its Content-Length.
			ct, body := multipartBody(t, part{"file", "huge.txt", "text/plain", bytes.Repeat([]byte("a"), 2*smallMax)})
			if r := e.do(http.MethodPost, "/api/uploads", u.Token, ct, bytes.NewReader(body)); r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("huge body: %d %s", r.status, r.body)
			}
			if r := e.upload("", part{"file", "a.png", "image/png", snifftest.PNG(t)}); r.status != http.StatusUnauthorized {
				t.Fatalf("anonymous upload: %d", r.status)
			}
			if keys := e.objects(); len(keys) != 0 {
				t.Fatalf("objects stored: %v", keys)
			}

			// Exactly at the limit is fine.
			r = e.upload(u.Token, part{"file", "max.txt", "text/plain", atMax})
			if r.status != http.StatusCreated || r.attachment(t).Size != smallMax {
				t.Fatalf("file of exactly the limit: %d %s", r.status, r.body)
			}
			if keys := e.objects(); len(keys) != 1 || !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, ".txt") }) {
				t.Fatalf("objects %v", keys)
			}
		})
	}
}
