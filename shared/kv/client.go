package kv

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/shared/metrics"
)

// slogLogger routes go-redis's own messages into the JSON log.
type slogLogger struct{}

func (slogLogger) Printf(ctx context.Context, format string, v ...any) {
	slog.WarnContext(ctx, "redis: "+fmt.Sprintf(format, v...))
}

var setLogger sync.Once

// ClusterStateReload is how often a cluster client rereads the slot map
// (one CLUSTER SLOTS): about how long it keeps dialling a failed master
// after the cluster promoted its replica.
const ClusterStateReload = 2 * time.Second

// Open returns a client for REDIS_URL. Build it once per process. With
// cluster (REDIS_CLUSTER=true) the URL is go-redis's cluster form,
// redis://host1:port1?addr=host2:port2&addr=host3:port3 (any nodes of the
// cluster; the rest are discovered), and the client routes every command by
// its keys' slot: kv.Keys puts the keys one script or transaction touches
// under one hash tag.
func Open(url string, cluster bool) (redis.UniversalClient, error) {
	setLogger.Do(func() { redis.SetLogger(slogLogger{}) })
	if cluster {
		opt, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("kv: REDIS_URL (cluster): %w", err)
		}
		opt.MaxRetries = 1
		// go-redis reloads the slot map only on a MOVED reply or every
		// ClusterStateReloadInterval (a minute by default). A master that
		// died answers no MOVED: until the reload, commands for its slots
		// keep dialling it although its replica took over seconds ago.
		opt.ClusterStateReloadInterval = ClusterStateReload
		return redis.NewClusterClient(opt), nil
	}
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
