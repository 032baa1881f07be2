package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// TestServicesFromUnreachableFolder runs the service script `make local` and
// `make test` use from folders the postgres user cannot enter when root runs
// the script: a parent with mode 0700 (a checkout under /root) and a .local/
// created 0750 by the local file storage. As a normal user the same folders
// are simply the user's own.
func TestServicesFromUnreachableFolder(t *testing.T) {
	for _, tc := range []struct{ name, mode string }{{"parent 0700", "0700"}, {"local 0750", "0750"}} {
		t.Run(tc.name, func(t *testing.T) {
			parent := filepath.Join(t.TempDir(), ".local")
			mode, _ := strconv.ParseUint(tc.mode, 8, 32)
			if err := os.Mkdir(parent, os.FileMode(mode)); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(parent, os.FileMode(mode)); err != nil { // past the umask
				t.Fatal(err)
			}
			dir := filepath.Join(parent, "x")
			pgPort, redisPort := freePort(t), freePort(t)
			_, pgPortNum, _ := net.SplitHostPort(pgPort)
			_, redisPortNum, _ := net.SplitHostPort(redisPort)
			t.Cleanup(func() { services(t, "purge", dir) })
			services(t, "start", dir, pgPortNum, redisPortNum)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, "postgres://postgres@"+pgPort+"/postgres?sslmode=disable")
			if err != nil {
				t.Fatalf("postgres started from %s is not reachable: %v", dir, err)
			}
			var one int
			if err := conn.QueryRow(ctx, "select 1").Scan(&one); err != nil || one != 1 {
				t.Fatalf("select 1: %d %v", one, err)
			}
			conn.Close(ctx)
			rdb := redis.NewClient(&redis.Options{Addr: redisPort})
			if err := rdb.Ping(ctx).Err(); err != nil {
				t.Fatalf("redis started from %s: %v", dir, err)
			}
			_ = rdb.Close()

			services(t, "stop", dir)
			// pg_ctl stop -w returns once the server is gone; the port is closed.
			if c, err := net.DialTimeout("tcp", pgPort, 2*time.Second); err == nil {
				c.Close()
				t.Fatalf("postgres still listens on %s after stop", pgPort)
			}
		})
	}
}

// services runs local/scripts/services.sh with a bounded time.
func services(t *testing.T, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{"scripts/services.sh"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("services.sh %v: %v\n%s", args, err, out)
	}
}
