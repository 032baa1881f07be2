package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

// The relay is tested as it runs: the binary is built once, instances are
// real processes on 127.0.0.1 sharing the test Postgres and Redis, and the
// tests speak to them over real WebSockets.

var (
	relayBinary string
	raceEnabled bool
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "relay-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	relayBinary = filepath.Join(dir, "relay")
	args := append([]string{"build", "-o", relayBinary}, testenv.CoverBuildArgs()...)
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the relay:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cluster is a set of relay instances sharing one Redis prefix.
type cluster struct {
	t      *testing.T
	db     *store.DB
	dbURL  string
	prefix string
	env    map[string]string
	// binary, when set, is the relay binary start runs instead of relayBinary.
	binary string
}

func newCluster(t *testing.T, env map[string]string) *cluster {
	t.Helper()
	_, keys := testenv.Redis(t)
	c := &cluster{t: t, db: testenv.DB(t), dbURL: testenv.DatabaseURL(t), prefix: keys.Prefix, env: map[string]string{
		"ARI_ENV":                         "test",
		"LOG_LEVEL":                       "warn",
		"DATABASE_URL":                    testenv.DatabaseURL(t),
		"REDIS_URL":                       testenv.RedisURL(),
		"REDIS_CLUSTER":                   strconv.FormatBool(testenv.RedisCluster()),
		"REDIS_PREFIX":                    keys.Prefix,
		"RELAY_HOST":                      "127.0.0.1",
		"RELAY_SWEEP_INTERVAL":            "200ms",
		"RELAY_ACTIVE_TTL":                "10s", // refreshed every 3.3 s: a driver keeps its mark through a stall on a loaded machine; tests of an expiring mark set their own
		"RELAY_AGENT_IDLE_TIMEOUT":        "20s",
		"RELAY_AGENT_FIRST_CHUNK_TIMEOUT": "20s",
		"SHUTDOWN_TIMEOUT":                "5s",
		"BETTER_AUTH_URL":                 "http://app.test:3501",
		"A2A_ALLOW_PRIVATE_NETWORKS":      "true", // the A2A peers run on loopback
	}}
	for k, v := range env {
		c.env[k] = v
	}
	return c
}

type relayProc struct {
	addr string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs one more instance and waits until it answers /health.
func (c *cluster) start() *relayProc {
	t := c.t
	t.Helper()
	port := freePort(t)
	bin := relayBinary
	if c.binary != "" {
		bin = c.binary
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "RELAY_PORT=" + strconv.Itoa(port)}
	cmd.Env = append(cmd.Env, testenv.CoverEnv()...)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &relayProc{addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-p.done
		}
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Errorf("data race in relay %s", p.addr)
		}
		if t.Failed() {
			t.Logf("relay %s output:\n%s", p.addr, p.out.String())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + p.addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay did not come up: %v\n%s", err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *relayProc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// world is a conversation with its users and one agent.
type world struct {
	conv       string
	users      []testenv.TestUser
	agentID    string
	agentToken string
}

func newAgent(t *testing.T, db *store.DB, owner testenv.TestUser, name string) (id, token string) {
	t.Helper()
	token, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Pool.QueryRow(context.Background(), `insert into agents (owner_id, name, handle, token_hash, token_hint)
		values ($1, $2, $3, $4, $5) returning id`, owner.ID, name, ari.AgentHandle(name), hash, hint).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id, token
}

func newConversation(t *testing.T, db *store.DB, kind string, users []testenv.TestUser, agentIDs ...string) string {
	t.Helper()
	ctx := context.Background()
	var conv string
	if err := db.Pool.QueryRow(ctx, `insert into conversations (kind, created_by) values ($1, $2) returning id`, kind, users[0].ID).Scan(&conv); err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, user_id) values ($1, $2)`, conv, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range agentIDs {
		if _, err := db.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, conv, a); err != nil {
			t.Fatal(err)
		}
	}
	return conv
}

// newWorld: a direct conversation between one new user and one new agent.
func newWorld(t *testing.T, c *cluster) *world {
	t.Helper()
	u := testenv.NewUser(t, c.db, "Ada")
	id, token := newAgent(t, c.db, u, "Echo Bot")
	return &world{conv: newConversation(t, c.db, "direct", []testenv.TestUser{u}, id), users: []testenv.TestUser{u}, agentID: id, agentToken: token}
}

// peer is a test WebSocket (client or agent) whose frames are read by one
// goroutine into a channel.
type peer struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan []byte
	closed chan struct{}
	// closeCode is the close code the relay sent (valid after closed).
	closeCode int
	wmu       sync.Mutex
}

func dial(t *testing.T, url string, h http.Header) *peer {
	t.Helper()
	ws, resp, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", url, err, status)
	}
	ws.SetReadLimit(64 << 20)
	p := &peer{t: t, ws: ws, frames: make(chan []byte, 100000), closed: make(chan struct{})}
	go func() {
		defer close(p.closed)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				if ce, ok := err.(*websocket.CloseError); ok {
					p.closeCode = ce.Code
				}
				return
			}
			p.frames <- data
		}
	}()
	t.Cleanup(func() { _ = ws.Close(); <-p.closed })
	return p
}

func dialClient(t *testing.T, r *relayProc, u testenv.TestUser) *peer {
	t.Helper()
	return dial(t, "ws://"+r.addr+"/ws", http.Header{"Authorization": {"Bearer " + u.Token}})
}

func dialAgent(t *testing.T, r *relayProc, token string) *peer {
	t.Helper()
	p := dial(t, "ws://"+r.addr+"/ws/agent", nil)
	p.send(map[string]any{"type": "auth", "token": token})
	p.expect("auth_ok")
	return p
}

func (p *peer) send(v any) {
	p.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	p.sendRaw(websocket.TextMessage, b)
}

func (p *peer) sendRaw(typ int, b []byte) {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if err := p.ws.WriteMessage(typ, b); err != nil {
		p.t.Errorf("write: %v", err)
	}
}

// frame is a received frame, decoded loosely for assertions.
type frame map[string]any

func (f frame) str(k string) string {
	s, _ := f[k].(string)
	return s
}

func (f frame) num(k string) int64 {
	n, _ := f[k].(float64)
	return int64(n)
}

func (f frame) obj(k string) frame {
	m, _ := f[k].(map[string]any)
	return m
}

const wait = 10 * time.Second

// next returns the next frame within d, or nil.
func (p *peer) next(d time.Duration) frame {
	select {
	case b := <-p.frames:
		var f frame
		if err := json.Unmarshal(b, &f); err != nil {
			p.t.Fatalf("relay sent invalid JSON %q: %v", b, err)
		}
		return f
	case <-time.After(d):
		return nil
	}
}

// expect skips frames until one of type typ arrives (pongs, events and
// frames of other types are skipped) and fails after wait.
func (p *peer) expect(typ string) frame {
	p.t.Helper()
	return p.expectWhere(typ, func(frame) bool { return true })
}

// expectWhere skips frames until one of type typ (any type if typ is empty)
// satisfies ok, and fails after wait.
func (p *peer) expectWhere(typ string, ok func(frame) bool) frame {
	p.t.Helper()
	return p.expectWhereWithin(typ, wait, ok)
}

// expectWhereWithin is expectWhere with its own bound.
func (p *peer) expectWhereWithin(typ string, d time.Duration, ok func(frame) bool) frame {
	p.t.Helper()
	deadline := time.Now().Add(d)
	for {
		f := p.next(time.Until(deadline))
		if f == nil {
			p.t.Fatalf("no %s frame within %s", typ, d)
		}
		if (typ == "" || f.str("type") == typ) && ok(f) {
			return f
		}
	}
}

// pingPast sends a ping and reads up to its pong, failing on any frame of
// type forbidden before it. The relay answers a socket's frames in order, so
// whatever it would have sent in answer to the frames sent before the ping
// arrives before the pong.
func (p *peer) pingPast(forbidden string) {
	p.t.Helper()
	p.send(map[string]any{"type": "ping"})
	deadline := time.Now().Add(wait)
	for {
		f := p.next(time.Until(deadline))
		if f == nil {
			p.t.Fatalf("no pong within %s", wait)
		}
		switch f.str("type") {
		case "pong":
			return
		case forbidden:
			p.t.Fatalf("unexpected %s before the pong: %v", forbidden, f)
		}
	}
}

// waitClosed waits for the relay to close the socket and returns the code.
func (p *peer) waitClosed() int {
	p.t.Helper()
	select {
	case <-p.closed:
		return p.closeCode
	case <-time.After(wait):
		p.t.Fatalf("socket not closed within %s", wait)
		return 0
	}
}

// sendMessage sends a user message and returns its ack.
func (p *peer) sendMessage(conv, content, clientID string) frame {
	p.t.Helper()
	p.send(map[string]any{"type": "send_message", "conversationId": conv, "content": content, "clientMessageId": clientID})
	return p.expectWhere("message_ack", func(f frame) bool { return f.str("clientMessageId") == clientID })
}

// assembler rebuilds a reply's text from stream frames with the offset rule
// of PROTOCOL.md section 11.
type assembler struct {
	text   []byte
	ended  frame
	chunks int
	ends   []int64 // where each chunk's delta ended, as byte offsets
}

// wholeChunks checks that every delta ended where one of the agent's chunks
// ended: a relay may merge consecutive chunks but never splits one.
func (a *assembler) wholeChunks(pieces []string) error {
	bounds := map[int64]bool{}
	n := int64(0)
	for _, p := range pieces {
		n += int64(len(p))
		bounds[n] = true
	}
	for _, e := range a.ends {
		if !bounds[e] {
			return fmt.Errorf("a delta ended at byte %d, inside one of the agent's chunks", e)
		}
	}
	return nil
}

func (a *assembler) apply(f frame) error {
	delta := []byte(f.str("delta"))
	off := f.num("offset")
	have := int64(len(a.text))
	switch {
	case off+int64(len(delta)) <= have:
	case off <= have:
		a.text = append(a.text, delta[have-off:]...)
	default:
		return fmt.Errorf("gap: offset %d, have %d", off, have)
	}
	a.chunks++
	a.ends = append(a.ends, off+int64(len(delta)))
	return nil
}

// collect reads one reply's stream frames until its stream_end.
func (p *peer) collect(messageID string, a *assembler) *assembler {
	p.t.Helper()
	if a == nil {
		a = &assembler{}
	}
	deadline := time.Now().Add(wait)
	for a.ended == nil {
		f := p.next(time.Until(deadline))
		if f == nil {
			p.t.Fatalf("reply %s did not end within %s (have %q)", messageID, wait, a.text)
		}
		if f.str("messageId") != messageID {
			continue
		}
		switch f.str("type") {
		case "stream_chunk":
			if err := a.apply(f); err != nil {
				p.t.Fatal(err)
			}
		case "stream_end":
			a.ended = f
		}
	}
	return a
}

func replyStatus(t *testing.T, db *store.DB, id string) (status, content string) {
	t.Helper()
	m, err := db.Message(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m.Status, m.Content
}
