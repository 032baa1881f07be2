package uploads

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/storage/storagetest"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

var backends = []string{"local", "s3"}

// env is the uploads function on a real server over real storage: a local
// directory served by LocalHandler on the same server, or versitygw.
type env struct {
	t       *testing.T
	db      *store.DB
	st      storage.Store
	srv     *httptest.Server
	max     int64
	objects func() []string // every key in storage, sorted
}

const testSecret = "uploads-test-secret-0123456789abcdef"

func newEnv(t *testing.T, backend string, max int64) *env {
	t.Helper()
	db := testenv.DB(t)
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv, max: max}
	switch backend {
	case "local":
		dir := t.TempDir()
		local, err := storage.NewLocal(storage.LocalConfig{Dir: dir, BaseURL: srv.URL, Secret: []byte(testSecret), MaxPutSize: max})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { local.Close() })
		mux.Handle("/files/", storage.LocalHandler(local))
		e.st = local
		e.objects = func() []string { return localKeys(t, dir) }
	case "s3":
		cfg := storagetest.VersityGW(t)
		s, err := storage.NewS3(cfg)
		if err != nil {
			t.Fatal(err)
		}
		e.st = s
		e.objects = func() []string { return s3Keys(t, cfg) }
	default:
		t.Fatalf("unknown backend %q", backend)
	}
	mux.Handle("/api/", New(Deps{
		DB: db, Storage: e.st, MaxUploadBytes: max, SpoolDir: t.TempDir(),
		Auth: &auth.Authenticator{DB: db, Secret: testSecret, Cookies: auth.NewCookies(srv.URL)},
	}))
	return e
}

// localKeys lists committed objects, and fails the test if an upload left a
// temporary file behind.
func localKeys(t *testing.T, dir string) []string {
	var keys []string
	for _, sub := range []string{"objects", "tmp"} {
		root := filepath.Join(dir, sub)
		filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if sub == "tmp" {
				t.Errorf("temporary file left in the store: %s", rel)
			}
			keys = append(keys, filepath.ToSlash(rel))
			return nil
		})
	}
	sort.Strings(keys)
	return keys
}

func s3Keys(t *testing.T, cfg storage.S3Config) []string {
	client := s3.New(s3.Options{
		Region: cfg.Region, BaseEndpoint: aws.String(cfg.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, ""),
	})
	out, err := client.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(cfg.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	sort.Strings(keys)
	return keys
}

type reply struct {
	status int
	body   []byte
	header http.Header
}

func (r reply) errorCode() ari.Code {
	var v struct {
		Error struct {
			Code ari.Code `json:"code"`
		} `json:"error"`
	}
	json.Unmarshal(r.body, &v)
	return v.Error.Code
}

func (r reply) attachment(t *testing.T) ari.Attachment {
	t.Helper()
	var v struct {
		Attachment ari.Attachment `json:"attachment"`
	}
	if err := json.Unmarshal(r.body, &v); err != nil || v.Attachment.ID == "" {
		t.Fatalf("no attachment in %d %s", r.status, r.body)
	}
	return v.Attachment
}

func (e *env) do(method, url, token, contentType string, body io.Reader) reply {
	e.t.Helper()
	if strings.HasPrefix(url, "/") {
		url = e.srv.URL + url
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, body: b, header: resp.Header}
}

func (e *env) postJSON(path, token string, v any) reply {
	e.t.Helper()
	b, _ := json.Marshal(v)
	return e.do(http.MethodPost, path, token, "application/json", bytes.NewReader(b))
}

// part is one multipart part; filename and type are written raw, so a test
// can send what a hostile client would.
type part struct {
	field, filename, contentType string
	data                         []byte
}

func multipartBody(t *testing.T, parts ...part) (string, []byte) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		cd := fmt.Sprintf(`form-data; name="%s"`, p.field)
		switch {
		case strings.HasPrefix(p.filename, "UTF-8''"): // RFC 2231, percent-encoded
			cd += "; filename*=" + p.filename
		case p.filename != "":
			cd += fmt.Sprintf(`; filename="%s"`, p.filename)
		}
		h.Set("Content-Disposition", cd)
		if p.contentType != "" {
			h.Set("Content-Type", p.contentType)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.data)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func (e *env) upload(token string, parts ...part) reply {
	e.t.Helper()
	ct, body := multipartBody(e.t, parts...)
	return e.do(http.MethodPost, "/api/uploads", token, ct, bytes.NewReader(body))
}

func (e *env) rows(ownerID string) int {
	e.t.Helper()
	var n int
	if err := e.db.Pool.QueryRow(context.Background(), `select count(*) from attachments where owner_id = $1`, ownerID).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// fetch GETs a link with no credentials, as a browser or an agent would.
func (e *env) fetch(url string) reply {
	e.t.Helper()
	return e.do(http.MethodGet, url, "", "", nil)
}
