package testenv

import (
	"context"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisClusterNodes is a private Redis Cluster a test may break (kill a
// master to force a failover) without disturbing other tests.
type RedisClusterNodes struct {
	// URL is the cluster URL in go-redis's form (REDIS_URL with
	// REDIS_CLUSTER=true).
	URL   string
	Addrs []string // every node, "127.0.0.1:port"
	procs map[string]*exec.Cmd
}

// StartRedisCluster starts three masters with a replica each on loopback
// (redis-server from PATH), forms the cluster and waits until every node
// agrees; the nodes are stopped when the test ends.
func StartRedisCluster(t testing.TB) *RedisClusterNodes {
	t.Helper()
	dir := t.TempDir()
	c := &RedisClusterNodes{procs: map[string]*exec.Cmd{}}
	for len(c.Addrs) < 6 {
		port := clusterPort(t)
		addr := "127.0.0.1:" + strconv.Itoa(port)
		nodeDir := filepath.Join(dir, strconv.Itoa(port))
		if err := os.MkdirAll(nodeDir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--dir", nodeDir,
			"--save", "", "--appendonly", "no", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "1000", "--cluster-replica-validity-factor", "0", "--logfile", filepath.Join(nodeDir, "redis.log"))
		if err := cmd.Start(); err != nil {
			t.Fatalf("testenv: redis-server: %v", err)
		}
		c.procs[addr] = cmd
		c.Addrs = append(c.Addrs, addr)
	}
	t.Cleanup(func() {
		for _, cmd := range c.procs {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	for _, a := range c.Addrs {
		waitFor(t, 10*time.Second, "redis node "+a, func() bool {
			conn, err := net.DialTimeout("tcp", a, 200*time.Millisecond)
			if err == nil {
				conn.Close()
			}
			return err == nil
		})
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "1", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("testenv: redis-cli --cluster create: %v\n%s", err, out)
	}
	c.URL = "redis://" + c.Addrs[0] + "?addr=" + c.Addrs[1] + "&addr=" + c.Addrs[2]
	waitFor(t, 20*time.Second, "the Redis cluster to agree", func() bool { return c.ready(c.Addrs) })
	return c
}

// clusterPort picks a free port whose cluster bus port (+10000) is free too.
func clusterPort(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := 20000 + rand.IntN(20000)
		a, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p+10000))
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("testenv: no free port pair for a Redis cluster node")
	return 0
}

// ready: every node of addrs reports cluster_state:ok and three masters
// with a replica each.
func (c *RedisClusterNodes) ready(addrs []string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, a := range addrs {
		n := redis.NewClient(&redis.Options{Addr: a})
		info, err := n.ClusterInfo(ctx).Result()
		nodes, err2 := n.ClusterNodes(ctx).Result()
		repl, err3 := n.Info(ctx, "replication").Result()
		n.Close()
		if err != nil || err2 != nil || err3 != nil || !strings.Contains(info, "cluster_state:ok") ||
			strings.Count(nodes, "slave") != 3 || strings.Count(nodes, "fail") != 0 {
			return false
		}
		// A replica still in its first full sync would be promoted empty.
		if strings.Contains(repl, "role:slave") && !strings.Contains(repl, "master_link_status:up") {
			return false
		}
	}
	return true
}

// MasterOf returns the address of the master that serves key now.
func (c *RedisClusterNodes) MasterOf(t testing.TB, key string) string {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	defer rdb.Close()
	m, err := rdb.MasterForKey(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return m.Options().Addr
}

// Kill stops a node with SIGKILL, as a crashed machine would.
func (c *RedisClusterNodes) Kill(t testing.TB, addr string) {
	t.Helper()
	cmd := c.procs[addr]
	if cmd == nil {
		t.Fatalf("testenv: no cluster node %s", addr)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	delete(c.procs, addr)
}

// WaitReplicated waits until every replica of the master at addr has
// everything the master had written when it was called. Replication is
// asynchronous: a write the master acknowledged but had not yet sent on is
// lost when it dies, so a test that promises what a failover keeps waits
// for this before it kills the master.
func (c *RedisClusterNodes) WaitReplicated(t testing.TB, addr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n := redis.NewClient(&redis.Options{Addr: addr})
	defer n.Close()
	info, err := n.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatalf("testenv: INFO replication of %s: %v", addr, err)
	}
	want, ok := replOffsets(info)["master"]
	if !ok {
		t.Fatalf("testenv: %s reports no master_repl_offset:\n%s", addr, info)
	}
	waitFor(t, 10*time.Second, "the replicas of "+addr+" to reach offset "+strconv.FormatInt(want, 10), func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		info, err := n.Info(ctx, "replication").Result()
		if err != nil {
			return false
		}
		offsets := replOffsets(info)
		replicas := 0
		for name, off := range offsets {
			if name == "master" {
				continue
			}
			if off < want {
				return false
			}
			replicas++
		}
		return replicas > 0
	})
}

// replOffsets reads a master's INFO replication: "master" is its own
// master_repl_offset, "slaveN" the offset each online replica acknowledged.
func replOffsets(info string) map[string]int64 {
	offsets := map[string]int64{}
	for _, line := range strings.Split(info, "\n") {
		line = strings.TrimSpace(line)
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch {
		case name == "master_repl_offset":
			if n, err := strconv.ParseInt(value, 10, 64); err == nil {
				offsets["master"] = n
			}
		case strings.HasPrefix(name, "slave") && strings.Contains(value, "offset="):
			online := false
			for _, field := range strings.Split(value, ",") {
				k, v, _ := strings.Cut(field, "=")
				switch k {
				case "state":
					online = v == "online"
				case "offset":
					if n, err := strconv.ParseInt(v, 10, 64); err == nil && online {
						offsets[name] = n
					}
				}
			}
		}
	}
	return offsets
}

// WaitFailover waits until the cluster serves every slot again without the
// killed node (its replica promoted).
func (c *RedisClusterNodes) WaitFailover(t testing.TB, killed string) {
	t.Helper()
	waitFor(t, 30*time.Second, "the cluster to fail over from "+killed, func() bool { return c.FailedOver(killed) })
}

// FailedOver reports whether every node but killed says the cluster is ok.
func (c *RedisClusterNodes) FailedOver(killed string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, a := range c.Addrs {
		if a == killed {
			continue
		}
		n := redis.NewClient(&redis.Options{Addr: a})
		info, err := n.ClusterInfo(ctx).Result()
		nodes, err2 := n.ClusterNodes(ctx).Result()
		n.Close()
		if err != nil || err2 != nil || !strings.Contains(info, "cluster_state:ok") || !markedFailed(nodes, killed) {
			return false
		}
	}
	return true
}

// markedFailed: CLUSTER NODES output flags addr as failed (not merely
// suspected) and lists no slots for it any more (its replica took them).
func markedFailed(nodes, addr string) bool {
	for _, line := range strings.Split(nodes, "\n") {
		f := strings.Fields(line)
		if len(f) > 2 && strings.HasPrefix(f[1], addr+"@") {
			flags := "," + f[2] + ","
			return strings.Contains(flags, ",fail,") && len(f) <= 8
		}
	}
	return false
}

func waitFor(t testing.TB, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("testenv: waited %s for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
