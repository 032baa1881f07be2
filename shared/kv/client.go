package kv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
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
// (one CLUSTER SLOTS) on its own. A node it cannot dial makes it reread the
// map at once (reloadOnDialError), so this is only the backstop.
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
		return openCluster(opt, ClusterStateReload), nil
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

// openCluster builds the cluster client; reload is its periodic slot-map
// reread (tests pass a long one to see the dial-error path alone).
func openCluster(opt *redis.ClusterOptions, reload time.Duration) *redis.ClusterClient {
	opt.ClusterStateReloadInterval = reload
	c := redis.NewClusterClient(opt)
	c.OnNewNode(func(node *redis.Client) { node.AddHook(reloadOnDialError{c}) })
	c.AddHook(metrics.RedisHook{}) // ari_redis_round_trip_seconds
	return c
}

// reloadOnDialError makes the cluster client reread the slot map as soon as
// a node refuses a connection. go-redis rereads it on a MOVED reply or on its
// own schedule; a master that died answers no MOVED, so until then every
// command for its slots kept dialling it although its replica had taken
// over (a relay saw "connection refused" 3 s after a failover). The reload
// is lazy and go-redis runs at most one at a time, 200 ms apart, so a storm
// of failed dials costs one CLUSTER SLOTS per 200 ms.
type reloadOnDialError struct{ c *redis.ClusterClient }

func (h reloadOnDialError) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		if err != nil {
			h.c.ReloadState(ctx)
		}
		return conn, err
	}
}

func (reloadOnDialError) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (reloadOnDialError) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// Ping checks that Redis answers.
func Ping(ctx context.Context, c redis.UniversalClient) error {
	return c.Ping(ctx).Err()
}
