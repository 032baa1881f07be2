package health_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"context"
	"github.com/ari-chat/ari-server/functions/health"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
	"github.com/jackc/pgx/v5/pgxpool"
)

type body struct {
	Status string   `json:"status"`
	Down   []string `json:"down"`
	Error  struct {
		Code, Message string
	} `json:"error"`
	Checks map[string]struct {
		Status    string  `json:"status"`
		LatencyMs float64 `json:"latencyMs"`
	} `json:"checks"`
}

// TestRedisDownAndBack stops a real Redis under a running handler: /health turns
// into 503 naming Redis, and recovers when Redis is back, without a restart.
func TestRedisDownAndBack(t *testing.T) {
	db := testenv.DB(t)
	port := freePort(t)
	startRedis := func() *exec.Cmd {
		cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	srv := startRedis()
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	rdb, err := kv.Open("redis://127.0.0.1:"+strconv.Itoa(port)+"/0", false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	h := health.New(health.Deps{Checks: map[string]health.Check{
		"postgres": db.Ping,
		"redis":    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
	}, Timeout: time.Second})
	get := func() (int, body) { return getHealth(t, h) }
	waitFor := func(want int) body {
		deadline := time.Now().Add(10 * time.Second)
		for {
			code, b := get()
			if code == want {
				return b
			}
			if time.Now().After(deadline) {
				t.Fatalf("want %d, still %d: %+v", want, code, b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	b := waitFor(http.StatusOK)
	if b.Status != "ok" || b.Checks["postgres"].Status != "ok" || b.Checks["redis"].Status != "ok" {
		t.Fatalf("healthy body %+v", b)
	}

	_ = srv.Process.Kill()
	_ = srv.Wait()
	b = waitFor(http.StatusServiceUnavailable)
	if len(b.Down) != 1 || b.Down[0] != "redis" || b.Error.Code != "unavailable" || b.Error.Message != "redis down" ||
		b.Checks["postgres"].Status != "ok" || b.Checks["redis"].Status != "down" {
		t.Fatalf("redis down body %+v", b)
	}

	srv = startRedis()
	b = waitFor(http.StatusOK)
	if b.Checks["redis"].Status != "ok" {
		t.Fatalf("recovered body %+v", b)
	}
}

// TestPostgresDown stops a real Postgres under a running handler: a private
// cluster started by the service script `make test` uses, then stopped.
func TestPostgresDown(t *testing.T) {
	rdb, _ := testenv.Redis(t)
	dir := filepath.Join(t.TempDir(), "pg")
	port := strconv.Itoa(freePort(t))
	services := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", append([]string{"../../local/scripts/services.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "SKIP_REDIS=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("services.sh %v: %v\n%s", args, err, out)
		}
	}
	t.Cleanup(func() { services("purge", dir) })
	services("start", dir, port, "0")
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:"+port+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	h := health.New(health.Deps{Checks: map[string]health.Check{
		"postgres": pool.Ping,
		"redis":    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
	}, Timeout: 2 * time.Second})
	get := func() (int, body) { return getHealth(t, h) }
	if code, b := get(); code != http.StatusOK || b.Checks["postgres"].Status != "ok" {
		t.Fatalf("with postgres up: %d %+v", code, b)
	}
	services("stop", dir) // pg_ctl stop -m fast -w: returns once the server is gone
	code, b := get()
	if code != http.StatusServiceUnavailable || len(b.Down) != 1 || b.Down[0] != "postgres" ||
		b.Checks["postgres"].Status != "down" || b.Checks["redis"].Status != "ok" || b.Error.Code != "unavailable" {
		t.Fatalf("with postgres stopped: %d %+v", code, b)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// getHealth asks h for /health and decodes its answer.
func getHealth(t *testing.T, h http.Handler) (int, body) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	var b body
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
		t.Fatalf("%s: %v", rec.Body, err)
	}
	return rec.Code, b
}
