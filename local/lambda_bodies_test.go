package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// TestLambdaBodiesAndCookies runs requests that carry more than a path
// through the real bootstraps under the emulator: a JSON body whose answer
// sets the session cookie (API Gateway's cookies list), that cookie sent
// back in the next event, and a binary multipart body (base64 in the event)
// whose bytes must arrive unchanged in storage.
func TestLambdaBodiesAndCookies(t *testing.T) {
	rie := testenv.GoTool(t, riePkg, rieVersion)
	cfg := testenv.Config(t)
	uploadDir := t.TempDir()
	env := []string{
		"ARI_ENV=test", "DATABASE_URL=" + cfg.DatabaseURL, "REDIS_URL=" + cfg.RedisURL,
		"REDIS_PREFIX=" + cfg.RedisPrefix, "LOG_LEVEL=warn", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"UPLOAD_DIR=" + uploadDir,
	}
	binDir := t.TempDir()
	authBoot := buildBootstrap(t, binDir, "auth")

	email := "lambda-" + testenv.RandomID(6) + "@example.com"
	signUp, _ := json.Marshal(map[string]string{"name": "Lambda Lu", "email": email, "password": "correct horse battery"})
	got := invoke(t, rie, authBoot, env, lambdaRequest{method: "POST", path: "/api/auth/sign-up/email",
		headers: map[string]string{"content-type": "application/json"}, body: signUp}.event())
	if got.StatusCode != http.StatusOK {
		t.Fatalf("sign-up under Lambda: %d %s", got.StatusCode, got.Body)
	}
	var signed struct {
		Token string `json:"token"`
		User  struct {
			ID, Email string
		} `json:"user"`
	}
	if err := json.Unmarshal([]byte(got.Body), &signed); err != nil || signed.Token == "" || signed.User.Email != email {
		t.Fatalf("sign-up body %s (%v)", got.Body, err)
	}
	var session string
	for _, c := range got.Cookies {
		if strings.HasPrefix(c, "better-auth.session_token=") || strings.HasPrefix(c, "__Secure-better-auth.session_token=") {
			session = c
		}
	}
	if session == "" || !strings.Contains(session, "HttpOnly") || !strings.Contains(session, "SameSite=Lax") {
		t.Fatalf("sign-up cookies %q: want the session cookie, HttpOnly, SameSite=Lax", got.Cookies)
	}
	if _, ok := got.Headers["Set-Cookie"]; ok {
		t.Fatalf("Set-Cookie in headers %v: API Gateway v2 wants the cookies list", got.Headers)
	}

	// The cookie, as a browser sends it back, signs the next request in.
	pair := session[:strings.Index(session, ";")]
	got = invoke(t, rie, authBoot, env, lambdaRequest{method: "GET", path: "/api/auth/get-session", cookies: []string{pair}}.event())
	var current struct {
		User struct{ ID string } `json:"user"`
	}
	if got.StatusCode != http.StatusOK || json.Unmarshal([]byte(got.Body), &current) != nil || current.User.ID != signed.User.ID {
		t.Fatalf("get-session with the Lambda cookie: %d %s, want user %s", got.StatusCode, got.Body, signed.User.ID)
	}

	// A binary body: a PNG from Go's encoder in a multipart form, base64 in the event.
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var pic bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="file"; filename="dot.png"`}, "Content-Type": {"image/png"}})
	if err != nil {
		t.Fatal(err)
	}
	part.Write(pic.Bytes())
	mw.Close()
	got = invoke(t, rie, buildBootstrap(t, binDir, "uploads"), env, lambdaRequest{method: "POST", path: "/api/uploads",
		headers: map[string]string{"content-type": mw.FormDataContentType(), "authorization": "Bearer " + signed.Token},
		body:    form.Bytes(), binary: true}.event())
	var up struct {
		Attachment struct {
			ID, Name, ContentType string
			Size                  int64
		} `json:"attachment"`
	}
	if got.StatusCode != http.StatusCreated || json.Unmarshal([]byte(got.Body), &up) != nil {
		t.Fatalf("upload under Lambda: %d %s", got.StatusCode, got.Body)
	}
	att := up.Attachment
	if att.Name != "dot.png" || att.ContentType != "image/png" || att.Size != int64(pic.Len()) {
		t.Fatalf("attachment %+v, want dot.png image/png %d bytes", att, pic.Len())
	}
	p := testPlatform(t)
	var key string
	if err := p.DB.Pool.QueryRow(context.Background(), `select storage_key from attachments where id = $1`, att.ID).Scan(&key); err != nil {
		t.Fatal(err)
	}
	lcfg := cfg
	lcfg.UploadDir = uploadDir
	st, err := storage.FromConfig(lcfg)
	if err != nil {
		t.Fatal(err)
	}
	rc, _, err := st.Open(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	stored, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(stored, pic.Bytes()) {
		t.Fatalf("stored %d bytes (%v), want the %d uploaded unchanged", len(stored), err, pic.Len())
	}
}
