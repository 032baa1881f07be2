// Package platform builds, once per process, what every binary needs: the
// configuration, the JSON logger, the Postgres pool and the Redis client. Mains
// call Open, build their handlers, and hand them to ServeLambda or a server.
package platform

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"

	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/health"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/logging"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
	"github.com/redis/go-redis/v9"
)

// Platform holds the process-wide clients. Warm Lambdas reuse them.
type Platform struct {
	Config config.Config
	Log    *slog.Logger
	DB     *store.DB
	Redis  *redis.Client
	Keys   kv.Keys
}

// Open reads the environment and connects. The pool connects lazily, so a
// process starts even while Postgres or Redis is down; /health says so.
func Open(ctx context.Context) (*Platform, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	return FromConfig(ctx, cfg)
}

// FromConfig connects using an already parsed configuration.
func FromConfig(ctx context.Context, cfg config.Config) (*Platform, error) {
	log := logging.New(os.Stderr, cfg.LogLevel)
	slog.SetDefault(log)
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{
		MaxConns: cfg.DBMaxConns, MaxConnIdle: cfg.DBMaxConnIdle, ConnectTimeout: cfg.DBConnectTimeout,
	})
	if err != nil {
		return nil, err
	}
	rdb, err := kv.Open(cfg.RedisURL)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &Platform{Config: cfg, Log: log, DB: db, Redis: rdb, Keys: kv.Keys{Prefix: cfg.RedisPrefix}}, nil
}

// Close releases the clients.
func (p *Platform) Close() {
	p.DB.Close()
	_ = p.Redis.Close()
}

// HealthChecks are the dependency checks every process reports.
func (p *Platform) HealthChecks() health.Deps {
	return health.Deps{Checks: map[string]health.Check{
		"postgres": p.DB.Ping,
		"redis":    func(ctx context.Context) error { return p.Redis.Ping(ctx).Err() },
	}}
}

// Wrap applies the middleware every function runs under, identically in
// Lambda and in the local shim.
func Wrap(h http.Handler) http.Handler {
	return httpx.Chain(h, httpx.RequestID, httpx.AccessLog)
}

// ServeLambda serves h as a Lambda behind an HTTP API (payload format 2.0).
// It returns only if the Lambda runtime does.
func ServeLambda(h http.Handler) error {
	adapter := httpadapter.NewV2(h)
	lambda.Start(adapter.ProxyWithContext)
	return fmt.Errorf("lambda runtime returned")
}
