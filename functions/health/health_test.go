package health_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"context"
	"github.com/ari-chat/ari-server/functions/health"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/testenv"
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
	rdb, err := kv.Open("redis://127.0.0.1:" + strconv.Itoa(port) + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	h := health.New(health.Deps{Checks: map[string]health.Check{
		"postgres": db.Ping,
		"redis":    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
	}, Timeout: time.Second})
	get := func() (int, body) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
		var b body
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatalf("%s: %v", rec.Body, err)
		}
		return rec.Code, b
	}
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

func TestPostgresDown(t *testing.T) {
	rdb, _ := testenv.Redis(t)
	h := health.New(health.Deps{Checks: map[string]health.Check{
		"postgres": func(ctx context.Context) error {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(freePort(t)))
			if err == nil {
				c.Close()
			}
			return err
		},
		"redis": func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
	var b body
	_ = json.Unmarshal(rec.Body.Bytes(), &b)
	if rec.Code != 503 || len(b.Down) != 1 || b.Down[0] != "postgres" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
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
