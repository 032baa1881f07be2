package interop

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// The load tool, run briefly against two real relays, measures every
// scenario and finds every reply complete and equal, nothing lost. This keeps
// the command in README working; the figures themselves are not asserted.
func TestLoadToolRunsEveryScenario(t *testing.T) {
	c := newCluster(t)
	// The tool's users send flat out, past the per-user send limit.
	unlimited := []string{"RATE_LIMIT_SEND_PER_MINUTE=1000000", "RATE_LIMIT_SEND_BURST=1000000"}
	a := c.startRelay(t, unlimited...)
	b := c.startRelay(t, unlimited...)
	bin := binary(t, "relay/loadtest")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"-relays", "ws://127.0.0.1:"+strconv.Itoa(a.Port)+",ws://127.0.0.1:"+strconv.Itoa(b.Port),
		"-relay-pid", strconv.Itoa(a.cmd.Process.Pid), "-idle-sockets", "200",
		"-clients", "4", "-agents", "2", "-duration", "700ms", "-chunks-per-reply", "50", "-latency-rate", "1000",
		"-mix-replies", "30", "-mix-rate", "20", "-mix-agents", "3", "-floor-duration", "300ms")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+c.DatabaseURL, "REDIS_URL="+testenv.RedisURL(),
		"REDIS_CLUSTER="+strconv.FormatBool(testenv.RedisCluster()), "REDIS_PREFIX="+c.RedisPrefix)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out)
	}
	text := string(out)
	t.Logf("loadtest output:\n%s", text)
	if strings.Contains(text, "problem:") {
		t.Fatalf("loadtest reported problems")
	}
	for _, want := range []string{"idle sockets: 200 authenticated", "latency one instance", "latency across instances",
		"realistic mix one instance, 30 replies", "throughput one instance"} {
		if !strings.Contains(text, want) {
			t.Fatalf("no %q in the output", want)
		}
	}
	// Four scenarios report replies and losses (two latencies, the mix,
	// throughput): a check that found fewer lines would pass without
	// checking.
	replies := regexp.MustCompile(`replies (\d+) \(complete (\d+), text equal (\d+)\)`).FindAllStringSubmatch(text, -1)
	lost := regexp.MustCompile(`lost (\d+)`).FindAllStringSubmatch(text, -1)
	if len(replies) != 4 || len(lost) != 4 {
		t.Fatalf("found %d replies lines and %d lost counts in the output, want 4 of each", len(replies), len(lost))
	}
	// Every latency figure has p99.9 and its floors beside it, the Redis
	// one measured too (every floor message arrived), and a ratio.
	if n := len(regexp.MustCompile(`p99\.9 \d+ µs; (replies|peak)`).FindAllString(text, -1)); n != 3 {
		t.Fatalf("found %d latency figures with p99.9, want 3", n)
	}
	floors := regexp.MustCompile(`floor ws forward: p50 \d+ µs, p99 \d+ µs, p99\.9 \d+ µs \((\d+) of (\d+) arrived\); redis pub→sub: p50 \d+ µs, p99 \d+ µs, p99\.9 \d+ µs \((\d+) of (\d+) arrived\)`).FindAllStringSubmatch(text, -1)
	if len(floors) != 3 || strings.Count(text, "relay ÷ ") != 4 {
		t.Fatalf("found %d floor lines and %d ratios, want 3 and 4", len(floors), strings.Count(text, "relay ÷ "))
	}
	for _, m := range floors {
		if m[1] != m[2] || m[3] != m[4] || m[2] == "0" || m[4] == "0" {
			t.Fatalf("a floor lost messages: %s", m[0])
		}
	}
	// The latency runs and the mix time each send to its message_ack.
	acks := regexp.MustCompile(`send → message_ack: (\d+) sends, p50 [^;]+; each socket's first send \(all at once, cold\): (\d+), p50 \d+ µs`).FindAllStringSubmatch(text, -1)
	if len(acks) != 3 {
		t.Fatalf("found %d send → message_ack figures, want 3", len(acks))
	}
	for _, m := range acks {
		if m[2] == "0" {
			t.Fatalf("no first sends timed: %s", m[0])
		}
	}
	if !regexp.MustCompile(`peak \d+ streaming at once`).MatchString(text) {
		t.Fatalf("the mix reports no peak concurrency")
	}
	for _, m := range replies {
		if m[1] == "0" || m[1] != m[2] || m[1] != m[3] {
			t.Fatalf("replies not all complete and equal: %s", m[0])
		}
	}
	for _, m := range lost {
		if m[1] != "0" {
			t.Fatalf("lost %s chunks", m[1])
		}
	}
	// The tool deletes what it seeded.
	var n int
	if err := c.DB.Pool.QueryRow(ctx, `select count(*) from "user" where email like '%@loadtest.invalid'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("seeded users left: %d (%v)", n, err)
	}
}

// The load tool's input-request runs, small, against two real relays: the
// fan-out reaches every member socket on both, and across a SIGKILL of the
// relay holding the agent's socket every answer reaches the agent. The
// latencies, the repeats (the protocol allows one in the instant of a crash)
// and the replies completed are printed, not asserted (README, Load testing:
// a reply whose end the dying instance had taken can miss it).
func TestLoadToolInputRequests(t *testing.T) {
	c := newCluster(t)
	a := c.startRelay(t)
	b := c.startRelay(t)
	bin := binary(t, "relay/loadtest")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin,
		"-relays", "ws://127.0.0.1:"+strconv.Itoa(a.Port)+",ws://127.0.0.1:"+strconv.Itoa(b.Port),
		"-run", "inputs,inputs-kill", "-kill-pid", strconv.Itoa(b.cmd.Process.Pid),
		"-input-members", "12", "-input-rounds", "5", "-kill-requests", "10", "-kill-window", "500ms", "-floor-duration", "300ms")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+c.DatabaseURL, "REDIS_URL="+testenv.RedisURL(),
		"REDIS_CLUSTER="+strconv.FormatBool(testenv.RedisCluster()), "REDIS_PREFIX="+c.RedisPrefix)
	began := time.Now()
	out, err := cmd.CombinedOutput()
	text := string(out)
	t.Logf("loadtest output (%s):\n%s", time.Since(began).Round(time.Millisecond), text)
	if err != nil {
		t.Fatalf("loadtest: %v", err)
	}
	if strings.Contains(text, "problem:") {
		t.Fatal("loadtest reported problems")
	}
	fan := regexp.MustCompile(`input request fan-out, a group of 12 members \(11 people: 6 on relay 1, 5 on relay 2; the agent on relay 2\), 5 requests one after another: (\d+) of 55 arrived; agent_input_request → input_request p50 \d+ µs, p99 \d+ µs, p99\.9 \d+ µs, max \d+ µs`).FindStringSubmatch(text)
	if fan == nil || fan[1] != "55" {
		t.Fatalf("no complete fan-out figure in the output: %v", fan)
	}
	if !regexp.MustCompile(`floor ws forward: p50 \d+ µs.*redis pub→sub: p50 \d+ µs`).MatchString(text) || !strings.Contains(text, "relay ÷ ws forward + redis pub→sub") {
		t.Fatal("the fan-out figure has no floors beside it")
	}
	kill := regexp.MustCompile(`input answers across a SIGKILL of the agent's relay: 10 replies waiting, (\d+) answered .*the agent got (\d+) distinct answers .*: lost (\d+), delivered twice \d+; replies complete \d+ of 10`).FindStringSubmatch(text)
	if kill == nil || kill[1] != "10" || kill[2] != "10" || kill[3] != "0" {
		t.Fatalf("answers across the kill: %v", kill)
	}
	var n int
	if err := c.DB.Pool.QueryRow(ctx, `select count(*) from "user" where email like '%@loadtest.invalid'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("seeded users left: %d (%v)", n, err)
	}
}
