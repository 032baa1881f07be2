package interop

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/store"
	"github.com/ari-chat/ari-server/shared/testenv"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary builds a command of this module once per test run.
func binary(t *testing.T, pkg string) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "ari-interop-")
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	out := filepath.Join(binDir, filepath.Base(pkg))
	buildMu.Lock()
	defer buildMu.Unlock()
	if _, err := os.Stat(out); err == nil {
		return out
	}
	args := []string{"build", "-o", out}
	if pkg == "relay" { // the relay's coverage is collected (startRelay sets GOCOVERDIR)
		args = append(args, testenv.CoverBuildArgs()...)
	}
	cmd := exec.Command("go", append(args, "github.com/ari-chat/ari-server/"+pkg)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

var buildMu sync.Mutex

// relayProc is one relay instance running as a process.
type relayProc struct {
	cmd  *exec.Cmd
	Port int
	log  string
}

func (r *relayProc) ClientURL() string { return fmt.Sprintf("ws://127.0.0.1:%d/ws", r.Port) }
func (r *relayProc) AgentURL() string  { return fmt.Sprintf("ws://127.0.0.1:%d/ws/agent", r.Port) }

// cluster is what relay instances of one test share: the package's database
// and a Redis prefix of the test's own.
type cluster struct {
	DB          *store.DB
	DatabaseURL string
	RedisPrefix string
}

func newCluster(t *testing.T) *cluster {
	_, keys := testenv.Redis(t)
	return &cluster{DB: testenv.DB(t), DatabaseURL: testenv.DatabaseURL(t), RedisPrefix: keys.Prefix}
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

// startRelay runs a relay instance until the test ends (SIGTERM, then wait).
func (c *cluster) startRelay(t *testing.T, extraEnv ...string) *relayProc {
	t.Helper()
	bin := binary(t, "relay")
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), "relay.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(),
		"ARI_ENV=test", "LOG_LEVEL=warn",
		"DATABASE_URL="+c.DatabaseURL, "REDIS_URL="+testenv.RedisURL(), "REDIS_CLUSTER="+strconv.FormatBool(testenv.RedisCluster()), "REDIS_PREFIX="+c.RedisPrefix,
		"RELAY_PORT="+strconv.Itoa(port), "RELAY_INSTANCE_ID=interop-"+strconv.Itoa(port),
	)
	cmd.Env = append(cmd.Env, testenv.CoverEnv()...)
	cmd.Env = append(cmd.Env, extraEnv...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &relayProc{cmd: cmd, Port: port, log: logPath}
	exited := make(chan struct{})
	go func() { // the waiter of the relay process
		_ = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("relay :%d log:\n%s", port, b)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health", port))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("relay exited on start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay on :%d not healthy: %v", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seedAgent inserts an agent owned by ownerID and returns its id and token.
func (c *cluster) seedAgent(t *testing.T, ownerID, name, handle string) (id, token string) {
	t.Helper()
	id = "ag_" + testenv.RandomID(6)
	token = "ari_" + testenv.RandomID(24)
	sum := sha256.Sum256([]byte(token))
	_, err := c.DB.Pool.Exec(context.Background(),
		`insert into agents(id, owner_id, name, handle, token_hash, token_hint) values ($1,$2,$3,$4,$5,$6)`,
		id, ownerID, name, handle, sum[:], token[:8])
	if err != nil {
		t.Fatalf("seed agent: %v", err)
	}
	return id, token
}

// seedConversation makes a direct conversation of userID (owner) and agentID.
func (c *cluster) seedConversation(t *testing.T, userID, agentID string) string {
	t.Helper()
	id := "c_" + testenv.RandomID(6)
	ctx := context.Background()
	if _, err := c.DB.Pool.Exec(ctx, `insert into conversations(id, kind, created_by) values ($1,'direct',$2)`, id, userID); err != nil {
		t.Fatalf("seed conversation: %v", err)
	}
	if _, err := c.DB.Pool.Exec(ctx, `insert into conversation_members(conversation_id, user_id, role) values ($1,$2,'owner')`, id, userID); err != nil {
		t.Fatalf("seed member: %v", err)
	}
	if _, err := c.DB.Pool.Exec(ctx, `insert into conversation_members(conversation_id, agent_id) values ($1,$2)`, id, agentID); err != nil {
		t.Fatalf("seed agent member: %v", err)
	}
	return id
}

// savedReply reads a reply as Postgres holds it.
func (c *cluster) savedReply(t *testing.T, messageID string) (status, content string) {
	t.Helper()
	err := c.DB.Pool.QueryRow(context.Background(), `select status, content from messages where id = $1`, messageID).Scan(&status, &content)
	if err != nil {
		t.Fatalf("saved reply %s: %v", messageID, err)
	}
	return status, content
}
