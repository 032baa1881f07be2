package kv

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Open returns a client for REDIS_URL. Build it once per process.
func Open(url string) (*redis.Client, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("kv: REDIS_URL: %w", err)
	}
	// Fail fast when Redis is down instead of queueing callers behind dials.
	opt.MaxRetries = 1
	return redis.NewClient(opt), nil
}

// Ping checks that Redis answers.
func Ping(ctx context.Context, c redis.UniversalClient) error {
	return c.Ping(ctx).Err()
}
