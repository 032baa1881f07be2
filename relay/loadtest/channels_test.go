package main

import (
	"bytes"
	"context"
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

	"github.com/ari-chat/ari-server/shared/testenv"
)

// The channels scenario, tiny, against two real relay processes: every
// subscribed socket gets every message, no other socket gets any, and one
// publish per message is what Redis counted (at least: the shared test
// Redis serves other tests too). The figures themselves are not asserted.
func TestChannelsScenarioTiny(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rdb, keys := testenv.Redis(t)
	dbURL := testenv.DatabaseURL(t)
	bin := filepath.Join(t.TempDir(), "relay")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/ari-chat/ari-server/relay")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the relay: %v\n%s", err, out)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ARI_ENV=test", "LOG_LEVEL=warn", "DATABASE_URL=" + dbURL, "REDIS_URL=" + testenv.RedisURL(),
		"REDIS_CLUSTER=" + strconv.FormatBool(testenv.RedisCluster()), "REDIS_PREFIX=" + keys.Prefix,
		"RELAY_HOST=127.0.0.1", "SHUTDOWN_TIMEOUT=5s", "BETTER_AUTH_URL=http://app.test:3501"}
	var relays []string
	for range 2 {
		relays = append(relays, "ws://"+startRelay(t, bin, env))
	}
	sd, err := openSeeder(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.close()
	o := options{relays: relays, rdb: rdb, keys: keys, run: sd.run, channelMembers: channelSizes{12, 30},
		channelSockets: 8, channelSubscribers: 3, channelMessages: 5, channelRate: 50, channelOps: 4,
		floorDuration: 200 * time.Millisecond}
	results, err := channelsRun(ctx, o, sd)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results", len(results))
	}
	for _, r := range results {
		if r.delivered != 15 || r.expected != 15 || r.strays != 0 || len(r.latencies) != 15 || r.spublish < 5 {
			t.Fatalf("%d members: delivered %d of %d, %d strays, %d latencies, %d SPUBLISH",
				r.members, r.delivered, r.expected, r.strays, len(r.latencies), r.spublish)
		}
	}
	if err := sd.cleanup(ctx); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := sd.pool.QueryRow(ctx, `select count(*) from communities where id = any($1)`, sd.communityIDs).Scan(&left); err != nil || left != 0 {
		t.Fatalf("communities left after cleanup: %d, %v", left, err)
	}
}

// startRelay runs the relay binary on a free port until the test ends and
// returns its address once /health answers.
func startRelay(t *testing.T, bin string, env []string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(env, "RELAY_PORT="+strconv.Itoa(port))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
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
			t.Logf("relay on %d:\n%s", port, out.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("relay did not come up: %v\n%s", err, out.String())
		}
		select {
		case <-done:
			t.Fatalf("relay exited:\n%s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestParseCommandStats(t *testing.T) {
	info := "# Commandstats\r\ncmdstat_spublish:calls=7,usec=70,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_get:calls=5,usec=5,usec_per_call=1.00,rejected_calls=0,failed_calls=0\r\n"
	before := map[string]int64{"spublish": 2, "get": 1}
	if sp, all, others := commandDelta(before, parseCommandStats(info)); sp != 5 || all != 9 || others != "get 4" {
		t.Fatalf("commandDelta = %d, %d, %q", sp, all, others)
	}
	if _, err := parseSizes("1000, 10000"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "1", "x,10"} {
		if _, err := parseSizes(bad); err == nil {
			t.Fatalf("parseSizes(%q) accepted", bad)
		}
	}
}
