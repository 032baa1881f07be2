package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

var (
	redisRoundTrips = register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ari_redis_round_trip_seconds",
		Help:    "Redis round trips by command (lower case; \"pipeline\" for a pipeline, whatever it holds), errors included.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .1, .5},
	}, []string{"command"}))
	postgresRoundTrips = register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "ari_postgres_round_trip_seconds",
		Help:    "Postgres queries (op=query) and batches (op=batch), by outcome (ok, error).",
		Buckets: []float64{.00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"op", "outcome"}))

	redisByCommand = newLabelled(func(cmd string) prometheus.Observer { return redisRoundTrips.WithLabelValues(cmd) }, "other")
	pgQueryOK      = postgresRoundTrips.WithLabelValues("query", "ok")
	pgQueryError   = postgresRoundTrips.WithLabelValues("query", "error")
	pgBatchOK      = postgresRoundTrips.WithLabelValues("batch", "ok")
	pgBatchError   = postgresRoundTrips.WithLabelValues("batch", "error")
)

// RedisHook times every command and pipeline of a go-redis client
// (client.AddHook(metrics.RedisHook{})). Pub/sub receives are not round trips
// and are not timed.
type RedisHook struct{}

// DialHook leaves dialling alone.
func (RedisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook times one command.
func (RedisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmd)
		redisByCommand.get(cmd.Name()).Observe(time.Since(start).Seconds())
		return err
	}
}

// ProcessPipelineHook times one pipeline (or transaction) as one round trip.
func (RedisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		start := time.Now()
		err := next(ctx, cmds)
		redisByCommand.get("pipeline").Observe(time.Since(start).Seconds())
		return err
	}
}

// PostgresTracer times every query and batch of a pgx connection
// (ConnConfig.Tracer).
type PostgresTracer struct{}

type startKey struct{}

// TraceQueryStart notes when the query began.
func (PostgresTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, startKey{}, time.Now())
}

// TraceQueryEnd records the query.
func (PostgresTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	observeSince(ctx, data.Err, pgQueryOK, pgQueryError)
}

// TraceBatchStart notes when the batch began.
func (PostgresTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return context.WithValue(ctx, startKey{}, time.Now())
}

// TraceBatchQuery is each query of a batch; the batch is timed as a whole.
func (PostgresTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd records the batch.
func (PostgresTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	observeSince(ctx, data.Err, pgBatchOK, pgBatchError)
}

func observeSince(ctx context.Context, err error, ok, failed prometheus.Observer) {
	start, found := ctx.Value(startKey{}).(time.Time)
	if !found {
		return
	}
	o := ok
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		o = failed
	}
	o.Observe(time.Since(start).Seconds())
}
