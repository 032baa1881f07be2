// Package testenv gives tests the real services: a freshly migrated Postgres
// database per test package and a unique Redis key prefix per test. `make test`
// starts the servers (local/scripts/services.sh) on ports of their own, so tests
// never touch a developer's `make local` data.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

const (
	defaultAdminURL = "postgres://postgres@127.0.0.1:55433/postgres?sslmode=disable"
	defaultRedisURL = "redis://127.0.0.1:63810/0"
	// The cluster `make test-services` starts (TEST_RDS_CLUSTER_PORT).
	defaultRedisClusterURL = "redis://127.0.0.1:46380?addr=127.0.0.1:46381&addr=127.0.0.1:46382"
	hint                   = "start the test services with `make test-services` (or run `make test`), or set TEST_DATABASE_URL / TEST_REDIS_URL"
)

// AdminURL is the maintenance database URL of the test Postgres server.
func AdminURL() string {
	if v := os.Getenv("TEST_DATABASE_URL"); v != "" {
		return v
	}
	return defaultAdminURL
}

// RedisURL is the test Redis server, or the test Redis Cluster under
// RedisCluster.
func RedisURL() string {
	if RedisCluster() {
		if v := os.Getenv("TEST_REDIS_CLUSTER_URL"); v != "" {
			return v
		}
		return defaultRedisClusterURL
	}
	if v := os.Getenv("TEST_REDIS_URL"); v != "" {
		return v
	}
	return defaultRedisURL
}

// RedisCluster reports whether this test run uses a Redis Cluster
// (ARI_TEST_REDIS_CLUSTER=1, as `make test` sets for its second pass of the
// relay's multi-instance tests): clients, relays and functions started by
// tests then get REDIS_CLUSTER=true and the cluster's URL.
func RedisCluster() bool { return os.Getenv("ARI_TEST_REDIS_CLUSTER") == "1" }

var (
	pkgOnce sync.Once
	pkgURL  string
	pkgErr  error
	pkgDB   *store.DB
)

// DatabaseURL returns the URL of this test package's own migrated database.
func DatabaseURL(t testing.TB) string {
	t.Helper()
	pkgOnce.Do(func() { pkgURL, pkgErr = NewDatabase(context.Background()) })
	if pkgErr != nil {
		t.Fatalf("testenv: %v (%s)", pkgErr, hint)
	}
	return pkgURL
}

// DB returns a pool on this package's database, shared by its tests.
func DB(t testing.TB) *store.DB {
	t.Helper()
	u := DatabaseURL(t)
	if pkgDB == nil {
		db, err := store.Open(context.Background(), u, store.Options{MaxConns: 30})
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		pkgDB = db
	}
	return pkgDB
}

// FreshDB returns a new, migrated database for one test that wants it empty.
func FreshDB(t testing.TB) (*store.DB, string) {
	t.Helper()
	u, err := NewDatabase(context.Background())
	if err != nil {
		t.Fatalf("testenv: %v (%s)", err, hint)
	}
	db, err := store.Open(context.Background(), u, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, u
}

// NewDatabase creates an empty database on the test server and migrates it.
func NewDatabase(ctx context.Context) (string, error) {
	return newDatabase(ctx, true)
}

// EmptyDatabase creates a database with no tables at all.
func EmptyDatabase(t testing.TB) string {
	t.Helper()
	u, err := newDatabase(context.Background(), false)
	if err != nil {
		t.Fatalf("testenv: %v (%s)", err, hint)
	}
	return u
}

func newDatabase(ctx context.Context, migrate bool) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	admin := AdminURL()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connecting to test Postgres at %s: %w", admin, err)
	}
	defer conn.Close(ctx)
	name := "ari_test_" + RandomID(8)
	if _, err := conn.Exec(ctx, "create database "+name); err != nil {
		return "", err
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	if migrate {
		if _, err := store.Migrate(ctx, u.String()); err != nil {
			return "", err
		}
	}
	return u.String(), nil
}

// Redis returns a client on the test Redis and a key set under a prefix unique
// to this test, so parallel tests and packages never see each other's keys.
func Redis(t testing.TB) (redis.UniversalClient, kv.Keys) {
	t.Helper()
	c, err := kv.Open(RedisURL(), RedisCluster())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("testenv: Redis at %s: %v (%s)", RedisURL(), err, hint)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, kv.Keys{Prefix: "t" + RandomID(6) + ":"}
}

// Config returns a configuration pointing at this package's database and the
// test Redis under a fresh prefix.
func Config(t testing.TB) config.Config {
	t.Helper()
	_, keys := Redis(t)
	c, err := config.FromMap(map[string]string{
		"ARI_ENV":       "test",
		"DATABASE_URL":  DatabaseURL(t),
		"REDIS_URL":     RedisURL(),
		"REDIS_CLUSTER": strconv.FormatBool(RedisCluster()),
		"REDIS_PREFIX":  keys.Prefix,
		"UPLOAD_DIR":    t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// RandomID returns n random bytes as lowercase hex.
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return strings.ToLower(hex.EncodeToString(b))
}
