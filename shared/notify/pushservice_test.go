package notify

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
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The test push service: an HTTP server on loopback that plays both the push
// service and the receiving browser. Each POST is handed, body and headers,
// to testdata/pushservice/verify.js, which checks the VAPID JWT with node's
// crypto and decrypts the body with npm http_ece, a third-party aes128gcm
// implementation. Only what that independent code can read counts as
// delivered.

const pushServiceDir = "testdata/pushservice"

var npmOnce sync.Once
var npmErr error

// needNode installs the pinned npm packages when node_modules is missing, so
// a fresh clone's `go test` works.
func needNode(t *testing.T) {
	t.Helper()
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(pushServiceDir, "node_modules", "http_ece")); err == nil {
			return
		}
		cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		cmd.Dir = pushServiceDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = &npmError{err: err, out: string(out)}
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in %s: %v", pushServiceDir, npmErr)
	}
}

type npmError struct {
	err error
	out string
}

func (e *npmError) Error() string { return e.err.Error() + "\n" + e.out }

// receiver is a browser's side of one subscription: the key pair and auth
// secret that only the browser knows.
type receiver struct {
	key  *ecdh.PrivateKey
	auth []byte
}

func newReceiver(t *testing.T) receiver {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	if _, err := rand.Read(auth); err != nil {
		t.Fatal(err)
	}
	return receiver{key: k, auth: auth}
}

// subscription is what this browser would hand the server for endpoint.
func (r receiver) subscription(endpoint string) Subscription {
	enc := base64.RawURLEncoding
	return Subscription{
		Endpoint: endpoint,
		P256dh:   enc.EncodeToString(r.key.PublicKey().Bytes()),
		Auth:     enc.EncodeToString(r.auth),
	}
}

// verdict is verify.js's answer.
type verdict struct {
	OK       bool           `json:"ok"`
	Error    string         `json:"error"`
	Payload  string         `json:"payload"`
	Claims   map[string]any `json:"claims"`
	VapidKey string         `json:"vapidKey"`
}

// delivery is one POST as the push service saw it.
type delivery struct {
	Path    string
	Header  http.Header
	Status  int
	Verdict verdict
}

// scripted is a canned answer given before the normal one.
type scripted struct {
	status     int
	retryAfter string
}

type pushService struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	receivers map[string]receiver   // by path
	script    map[string][]scripted // by path, consumed in order
	always    map[string]int        // by path: answer this forever
	log       []delivery
	inFlight  int
	maxFlight int
}

func newPushService(t *testing.T) *pushService {
	t.Helper()
	needNode(t)
	ps := &pushService{
		t:         t,
		receivers: map[string]receiver{},
		script:    map[string][]scripted{},
		always:    map[string]int{},
	}
	ps.srv = httptest.NewServer(http.HandlerFunc(ps.serve))
	t.Cleanup(ps.srv.Close)
	return ps
}

// subscribe registers a new browser at path and returns its subscription.
func (ps *pushService) subscribe(path string) Subscription {
	r := newReceiver(ps.t)
	ps.mu.Lock()
	ps.receivers[path] = r
	ps.mu.Unlock()
	return r.subscription(ps.srv.URL + path)
}

func (ps *pushService) answerFirst(path string, answers ...scripted) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.script[path] = append(ps.script[path], answers...)
}

func (ps *pushService) answerAlways(path string, status int) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	ps.always[path] = status
}

func (ps *pushService) deliveries(path string) []delivery {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	var out []delivery
	for _, d := range ps.log {
		if path == "" || d.Path == path {
			out = append(out, d)
		}
	}
	return out
}

func (ps *pushService) maxInFlight() int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.maxFlight
}

func (ps *pushService) serve(w http.ResponseWriter, r *http.Request) {
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
		status, retryAfter = q[0].status, q[0].retryAfter
		ps.script[r.URL.Path] = q[1:]
	} else if s, ok := ps.always[r.URL.Path]; ok {
		status = s
	} else if !v.OK {
		status = http.StatusBadRequest
	}
	ps.log = append(ps.log, delivery{Path: r.URL.Path, Header: r.Header.Clone(), Status: status, Verdict: v})
	ps.mu.Unlock()

	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
}

func (ps *pushService) verify(ctx context.Context, rcv receiver, h http.Header, body []byte) verdict {
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
		return verdict{Error: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "verify.js")
	cmd.Dir = pushServiceDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return verdict{Error: "verify.js: " + err.Error() + ": " + stderr.String()}
	}
	var v verdict
	if err := json.Unmarshal(out, &v); err != nil {
		return verdict{Error: "verify.js output " + strconv.Quote(string(out))}
	}
	return v
}
