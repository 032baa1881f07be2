package messages

import (
	"context"
	"encoding/json"
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
	"github.com/ari-chat/ari-server/shared/relayjob"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/ari-chat/ari-server/shared/testenv/apitest"
)

// POST /api/conversations/{id}/messages/{messageId}/regenerate through a real
// relay process: a member's call starts a new version that streams to the
// members' sockets from the agent's socket; signed out is 401, an outsider
// 404 (without a job), and every refusal of the frame comes back with its
// REST status: not_found 404, forbidden 403, conversation_busy 409,
// rate_limited 429, invalid body 400.
func TestRegenerateOverRESTStreamsThroughTheRelay(t *testing.T) {
	f := apitest.New(t)
	f.Serve(t, New(Deps{DB: f.DB, Events: f.Events, Auth: f.Auth, Jobs: &relayjob.Client{Redis: f.Redis, Keys: f.Keys}}))
	ctx := context.Background()
	relay := startRelay(t, f, map[string]string{"RATE_LIMIT_SEND_BURST": "8", "RATE_LIMIT_SEND_PER_MINUTE": "1"})
	ada := testenv.NewUser(t, f.DB, "Ada")
	bob := testenv.NewUser(t, f.DB, "Bob")
	carol := testenv.NewUser(t, f.DB, "Carol")
	dave := testenv.NewUser(t, f.DB, "Dave")
	echo, token := agentWithToken(t, f, ada, "Echo Bot")
	conv := apitest.Conversation(t, f.DB, "group", ada.ID, bob.ID)
	carolConv := apitest.Conversation(t, f.DB, "direct", carol.ID)
	for _, c := range []string{conv, carolConv} {
		if _, err := f.DB.Pool.Exec(ctx, `insert into conversation_members (conversation_id, agent_id) values ($1, $2)`, c, echo); err != nil {
			t.Fatal(err)
		}
	}
	agent := dialPeer(t, "ws://"+relay+"/ws/agent", nil)
	agent.send(map[string]any{"type": "auth", "token": token})
	agent.expect("auth_ok")
	pa := dialPeer(t, "ws://"+relay+"/ws", http.Header{"Authorization": {"Bearer " + ada.Token}})

	// The first answer, through the relay as usual.
	pa.send(map[string]any{"type": "send_message", "conversationId": conv, "content": "@echo-bot Wie spät ist es?", "clientMessageId": "rg-1"})
	person := pa.expect("message_ack").obj("message").str("id")
	task := agent.expect("task")
	first := task.str("taskId")
	agent.send(map[string]any{"type": "agent_chunk", "taskId": first, "content": "Zehn Uhr."})
	agent.send(map[string]any{"type": "agent_complete", "taskId": first})
	pa.expectWhere("stream_end", func(fr frame) bool { return fr.str("messageId") == first })

	path := "/api/conversations/" + conv + "/messages/" + person + "/regenerate"
	refused := func(token, path string, body any, status int, code string) {
		t.Helper()
		got, raw := f.Call(t, token, "POST", path, body)
		if got != status || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != code {
			t.Fatalf("POST %s answered %d %s, want %d %s", path, got, raw, status, code)
		}
	}
	refused("", path, nil, 401, "unauthorized")
	refused(dave.Token, path, nil, 404, "not_found")
	refused(bob.Token, path, map[string]any{"agentId": "a{1}"}, 400, "invalid_request")
	refused(bob.Token, path, map[string]any{"agent": echo}, 400, "invalid_request")
	refused(bob.Token, "/api/conversations/"+conv+"/messages/"+carolConv+"/regenerate", nil, 404, "not_found")
	if n, err := f.Redis.LLen(ctx, f.Keys.RelayJobs()).Result(); err != nil || n != 0 {
		t.Fatalf("jobs left waiting: %d (%v)", n, err)
	}

	// A member who is not the sender asks; the relay starts version 2 at
	// once and every member's socket sees it stream.
	raw := f.Must(t, 202, bob.Token, "POST", path, nil)
	var ack relayjob.Regenerated
	if err := json.Unmarshal(raw, &ack); err != nil {
		t.Fatal(err)
	}
	second := ack.Reply.MessageID
	if ack.ConversationID != conv || ack.MessageID != person || ack.ReplyToID != person || ack.Version != 2 ||
		ack.PreviousID != first || ack.Queued || ack.Reply.AgentID != echo || second == "" {
		t.Fatalf("answer = %s", raw)
	}
	ss := pa.expect("stream_start")
	if ss.str("messageId") != second || ss.num("version") != 2 || ss.str("previousId") != first || ss.str("replyToId") != person {
		t.Fatalf("stream_start = %v", ss)
	}
	task = agent.expect("task")
	if task.str("taskId") != second || task.obj("regenerate").str("previousReplyId") != first ||
		task.obj("regenerate").str("previousContent") != "Zehn Uhr." {
		t.Fatalf("task = %v", task)
	}
	agent.send(map[string]any{"type": "agent_chunk", "taskId": second, "content": "Es ist "})

	// One regenerate at a time: while version 2 streams, another is
	// refused and nothing is stored.
	refused(ada.Token, path, nil, 409, "conversation_busy")

	agent.send(map[string]any{"type": "agent_chunk", "taskId": second, "content": "zehn Uhr morgens."})
	agent.send(map[string]any{"type": "agent_complete", "taskId": second})
	end := pa.expectWhere("stream_end", func(fr frame) bool { return fr.str("messageId") == second })
	if end.str("status") != "complete" || end.str("content") != "Es ist zehn Uhr morgens." {
		t.Fatalf("stream_end = %v", end)
	}
	var versions int
	if err := f.DB.Pool.QueryRow(ctx, `select count(*) from messages where reply_to_id = $1`, person).Scan(&versions); err != nil || versions != 2 {
		t.Fatalf("%d versions (%v)", versions, err)
	}

	// An unknown message of the conversation: the relay's not_found.
	refused(bob.Token, "/api/conversations/"+conv+"/messages/"+"00000000-0000-4000-8000-000000000000"+"/regenerate", nil, 404, "not_found")
	// Not the latest message from a person: forbidden.
	apitest.Post(t, f.DB, conv, bob.ID, "Danke!")
	refused(ada.Token, path, nil, 403, "forbidden")
	// Carol's regenerates count against her send limit (burst 8), refused
	// ones too: the ninth is rate_limited.
	carolPath := "/api/conversations/" + carolConv + "/messages/" + apitest.Post(t, f.DB, carolConv, carol.ID, "Hallo")[0] + "/regenerate"
	for range 8 {
		refused(carol.Token, carolPath, nil, 403, "forbidden")
	}
	code, body := f.Call(t, carol.Token, "POST", carolPath, nil)
	if code != 429 || apitest.Decode[apitest.ErrorBody](t, body).Error.Code != "rate_limited" {
		t.Fatalf("ninth call answered %d %s", code, body)
	}
	if err := f.DB.Pool.QueryRow(ctx, `select count(*) from messages where reply_to_id = $1`, person).Scan(&versions); err != nil || versions != 2 {
		t.Fatalf("refusals stored versions: %d (%v)", versions, err)
	}
}

// With no relay instance to take the job, the function takes it back: 503,
// nothing stored, nothing left in Redis.
func TestRegenerateWithoutARelayIsUnavailable(t *testing.T) {
	f := apitest.New(t)
	f.Serve(t, New(Deps{DB: f.DB, Events: f.Events, Auth: f.Auth,
		Jobs: &relayjob.Client{Redis: f.Redis, Keys: f.Keys, TakeWait: 200 * time.Millisecond}}))
	ada := testenv.NewUser(t, f.DB, "Ada")
	conv := apitest.Conversation(t, f.DB, "direct", ada.ID)
	msg := apitest.Post(t, f.DB, conv, ada.ID, "Hallo")[0]
	code, raw := f.Call(t, ada.Token, "POST", "/api/conversations/"+conv+"/messages/"+msg+"/regenerate", map[string]any{})
	if code != 503 || apitest.Decode[apitest.ErrorBody](t, raw).Error.Code != "unavailable" {
		t.Fatalf("answered %d %s", code, raw)
	}
	if n, err := f.Redis.LLen(context.Background(), f.Keys.RelayJobs()).Result(); err != nil || n != 0 {
		t.Fatalf("jobs left waiting: %d (%v)", n, err)
	}
}

// agentWithToken stores an agent of owner with a real token.
func agentWithToken(t *testing.T, f *apitest.Env, owner testenv.TestUser, name string) (id, token string) {
	t.Helper()
	token, hash, hint, err := ari.NewAgentToken()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.DB.Pool.QueryRow(context.Background(), `insert into agents (owner_id, name, handle, token_hash, token_hint)
		values ($1, $2, $3, $4, $5) returning id`, owner.ID, name, ari.AgentHandle(name), hash, hint).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id, token
}

var relayBuild struct {
	once sync.Once
	path string
	err  error
}

// startRelay runs the relay binary (built once per test run) on f's
// database and Redis prefix until the test ends, and returns its address.
func startRelay(t *testing.T, f *apitest.Env, env map[string]string) string {
	t.Helper()
	relayBuild.once.Do(func() {
		dir, err := os.MkdirTemp("", "messages-relay-")
		if err != nil {
			relayBuild.err = err
			return
		}
		relayBuild.path = filepath.Join(dir, "relay")
		args := append([]string{"build", "-o", relayBuild.path}, testenv.CoverBuildArgs()...)
		out, err := exec.Command("go", append(args, "../../relay")...).CombinedOutput()
		if err != nil {
			relayBuild.err = err
			t.Logf("go build: %s", out)
		}
	})
	if relayBuild.err != nil {
		t.Fatalf("building the relay: %v", relayBuild.err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	_ = ln.Close()
	cmd := exec.Command(relayBuild.path)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "RELAY_PORT=" + port,
		"ARI_ENV=test", "LOG_LEVEL=warn", "DATABASE_URL=" + testenv.DatabaseURL(t), "REDIS_URL=" + testenv.RedisURL(),
		"REDIS_CLUSTER=" + strconv.FormatBool(testenv.RedisCluster()), "REDIS_PREFIX=" + f.Keys.Prefix,
		"RELAY_HOST=127.0.0.1", "RELAY_SWEEP_INTERVAL=200ms", "SHUTDOWN_TIMEOUT=5s"}, testenv.CoverEnv()...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out strings.Builder
	var mu sync.Mutex
	w := writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			mu.Lock()
			t.Logf("relay output:\n%s", out.String())
			mu.Unlock()
		}
	})
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case <-done:
			t.Fatalf("the relay exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay did not become healthy")
		}
	}
}

type writerFunc func([]byte) (int, error)

func (w writerFunc) Write(p []byte) (int, error) { return w(p) }

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

// peer is a WebSocket whose frames one goroutine reads into a channel.
type peer struct {
	t      *testing.T
	ws     *websocket.Conn
	frames chan frame
}

func dialPeer(t *testing.T, url string, h http.Header) *peer {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	p := &peer{t: t, ws: ws, frames: make(chan frame, 1000)}
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		defer close(p.frames)
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var fr frame
			if json.Unmarshal(data, &fr) == nil {
				p.frames <- fr
			}
		}
	}()
	t.Cleanup(func() { _ = ws.Close(); <-closed })
	return p
}

func (p *peer) send(v any) {
	p.t.Helper()
	if err := p.ws.WriteJSON(v); err != nil {
		p.t.Fatal(err)
	}
}

func (p *peer) expect(typ string) frame {
	p.t.Helper()
	return p.expectWhere(typ, func(frame) bool { return true })
}

// expectWhere skips frames until one of type typ satisfies ok (10 s at most).
func (p *peer) expectWhere(typ string, ok func(frame) bool) frame {
	p.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case fr, open := <-p.frames:
			if !open {
				p.t.Fatalf("socket closed before a %s frame", typ)
			}
			if fr.str("type") == typ && ok(fr) {
				return fr
			}
		case <-deadline:
			p.t.Fatalf("no %s frame within 10s", typ)
		}
	}
}
