package kv

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/metrics"
)

// slogLogger routes go-redis's own messages into the JSON log.
type slogLogger struct{}

func (slogLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

var setLogger sync.Once

// Open returns a client for REDIS_URL. Build it once per process.
func Open(url string) (*redis.Client, error) {
	setLogger.Do(func() { redis.SetLogger(slogLogger{}) })
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("kv: REDIS_URL: %w", err)
	}
	// Fail fast when Redis is down instead of queueing callers behind dials.
	opt.MaxRetries = 1
	c := redis.NewClient(opt)
	c.AddHook(metrics.RedisHook{}) // ari_redis_round_trip_seconds
	return c, nil
}

// Ping checks that Redis answers.
func Ping(ctx context.Context, c redis.UniversalClient) error {
	return c.Ping(ctx).Err()
}
