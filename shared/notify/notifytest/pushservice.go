// Package notifytest is a test push service for code that sends Web Push: an
// HTTP server on loopback that plays both the push service and the receiving
// browser. Each POST is handed, body and headers, to testdata/verify.js, which
// checks the VAPID JWT with node's crypto and decrypts the body with npm
// http_ece, a third-party aes128gcm implementation. Only what that independent
// code can read counts as delivered.
//
// It needs node and npm; the pinned packages (testdata/package-lock.json) are
// installed with `npm ci` the first time a test needs them. It finds its
// testdata next to this source file, so it works under `go test` (not with
// -trimpath).
//
// It does not import shared/notify, so notify's own tests can use it too;
// Subscription has notify.Subscription's fields and converts to it.
package notifytest

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// Dir is where verify.js and its node_modules live.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

// NeedNode installs the pinned npm packages when node_modules is missing, so
// a fresh clone's `go test` works.
func NeedNode(t testing.TB) {
	t.Helper()
	npm.Install(t, Dir())
}

// Subscription is what a browser hands the server: notify.Subscription's
// shape, convertible with notify.Subscription(s).
type Subscription struct {
	Endpoint string `json:"endpoint"`
	P256dh   string `json:"p256dh"`
	Auth     string `json:"auth"`
}

// Receiver is a browser's side of one subscription: the key pair and auth
// secret that only the browser knows.
type Receiver struct {
	key  *ecdh.PrivateKey
	auth []byte
}

// NewReceiver makes a fresh browser key pair and auth secret.
func NewReceiver(t testing.TB) Receiver {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	return Receiver{key: k, auth: auth}
}

// Subscription is what this browser would hand the server for endpoint.
func (r Receiver) Subscription(endpoint string) Subscription {
	enc := base64.RawURLEncoding
	return Subscription{
		Endpoint: endpoint,
		P256dh:   enc.EncodeToString(r.key.PublicKey().Bytes()),
		Auth:     enc.EncodeToString(r.auth),
	}
}

// Verdict is verify.js's answer about one POST.
type Verdict struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	// Payload is the decrypted plaintext.
	Payload string `json:"payload"`
	// Claims are the VAPID JWT's claims (aud, exp, sub).
	Claims map[string]any `json:"claims"`
	// VapidKey is the k= of the Authorization header.
	VapidKey string `json:"vapidKey"`
}

// Delivery is one POST as the push service saw it.
type Delivery struct {
	Path    string
	Header  http.Header
	Status  int
	Verdict Verdict
}

// Answer is a canned reply given before the normal one.
type Answer struct {
	Status     int
	RetryAfter string
}

// PushService is the loopback push service. By default it answers 201 to
// POSTs that verify and decrypt, 400 to those that do not, and 404 to
// unknown paths.
type PushService struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	receivers map[string]Receiver // by path
	script    map[string][]Answer // by path, consumed in order
	always    map[string]int      // by path: answer this forever
	log       []Delivery
	inFlight  int
	maxFlight int
}

// NewPushService starts a push service, stopped when the test ends.
func NewPushService(t testing.TB) *PushService {
	t.Helper()
	NeedNode(t)
	ps := &PushService{
		t:         t,
		receivers: map[string]Receiver{},
		script:    map[string][]Answer{},
		always:    map[string]int{},
	}
	ps.srv = httptest.NewServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

// URL is the service's base URL (also the JWT audience it expects).
func (ps *PushService) URL() string { return ps.srv.URL }

// Subscribe registers a new browser at path and returns its subscription.
func (ps *PushService) Subscribe(path string) Subscription {
	r := NewReceiver(ps.t)
	ps.mu.Lock()
	ps.receivers[path] = r
	ps.mu.Unlock()
	return r.Subscription(ps.srv.URL + path)
}

// AnswerFirst queues canned answers for path, used before the normal one.
func (ps *PushService) AnswerFirst(path string, answers ...Answer) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.script[path] = append(ps.script[path], answers...)
}

// AnswerAlways makes path answer status from now on (410 for a gone
// subscription).
func (ps *PushService) AnswerAlways(path string, status int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.always[path] = status
}

// Deliveries lists the POSTs to path ("" for all), oldest first.
func (ps *PushService) Deliveries(path string) []Delivery {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []Delivery
	for _, d := range ps.log {
		if path == "" || d.Path == path {
			out = append(out, d)
		}
	}
	return out
}

// MaxInFlight is the most POSTs that were being served at once.
func (ps *PushService) MaxInFlight() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.maxFlight
}

func (ps *PushService) serve(w http.ResponseWriter, r *http.Request) {
	ps.mu.Lock()
	ps.inFlight++
	ps.maxFlight = max(ps.maxFlight, ps.inFlight)
	rcv, known := ps.receivers[r.URL.Path]
	ps.mu.Unlock()
	defer func() {
		ps.mu.Lock()
		ps.inFlight--
		ps.mu.Unlock()
	}()

	if r.Method != http.MethodPost || !known {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	v := ps.verify(r.Context(), rcv, r.Header, body)

	status := http.StatusCreated
	retryAfter := ""
	ps.mu.Lock()
	if q := ps.script[r.URL.Path]; len(q) > 0 {
		status, retryAfter = q[0].Status, q[0].RetryAfter
		ps.script[r.URL.Path] = q[1:]
	} else if s, ok := ps.always[r.URL.Path]; ok {
		status = s
	} else if !v.OK {
		status = http.StatusBadRequest
	}
	ps.log = append(ps.log, Delivery{Path: r.URL.Path, Header: r.Header.Clone(), Status: status, Verdict: v})
	ps.mu.Unlock()

	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
}

func (ps *PushService) verify(ctx context.Context, rcv Receiver, h http.Header, body []byte) Verdict {
	enc := base64.RawURLEncoding
	in, err := json.Marshal(map[string]any{
		"body":               base64.StdEncoding.EncodeToString(body),
		"authorization":      h.Get("Authorization"),
		"contentEncoding":    h.Get("Content-Encoding"),
		"receiverPrivateKey": enc.EncodeToString(rcv.key.Bytes()),
		"authSecret":         enc.EncodeToString(rcv.auth),
		"audience":           ps.srv.URL,
		"nowSeconds":         time.Now().Unix(),
	})
	if err != nil {
		return Verdict{Error: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "verify.js")
	cmd.Dir = Dir()
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return Verdict{Error: "verify.js: " + err.Error() + ": " + stderr.String()}
	}
	var v Verdict
	if err := json.Unmarshal(out, &v); err != nil {
		return Verdict{Error: "verify.js output " + strconv.Quote(string(out))}
	}
	return v
}
