package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Settle failure stages, the "stage" label of ari_settle_failures_total.
const (
	SettleBuffer    = "buffer"  // the reply's Redis buffer could not be closed
	SettleRefused   = "refused" // Postgres refused the end; saved as error internal instead
	SettleUnsaved   = "unsaved" // Postgres unreachable: ended for members, saved later
	SettleSaveError = "save"    // the end could not be saved at all
)

var (
	repliesActive = register(prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "ari_replies_active", Help: "Replies this relay instance drives (it holds the agent socket or A2A run working on them).",
	}))
	repliesQueued = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ari_replies_queued_total", Help: "Replies that had to wait in their conversation's queue behind an active one.",
	}))
	chunkDelivery = register(prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "ari_chunk_delivery_seconds",
		Help:    "From reading an agent's chunk frame to writing it to every client socket of this instance it was given to.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}))
	settleFailures = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ari_settle_failures_total", Help: "Replies whose end could not be settled as given, by stage (buffer, refused, unsaved, save).",
	}, []string{"stage"}))
	settlesRecovered = register(prometheus.NewCounter(prometheus.CounterOpts{
		Name: "ari_settle_recovered_total", Help: "Reply ends this instance announced for an instance that stopped after saving them and before telling the members.",
	}))
	framesLimited = register(prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ari_frames_limited_total", Help: "Client frames answered rate_limited, by frame type.",
	}, []string{"type"}))
)

// RepliesActive sets how many replies this instance drives.
func RepliesActive(n int) { repliesActive.Set(float64(n)) }

// RepliesQueued counts n replies put in a queue behind an active one.
func RepliesQueued(n int) { repliesQueued.Add(float64(n)) }

// ChunkDelivered records one chunk's delivery latency.
func ChunkDelivered(d time.Duration) { chunkDelivery.Observe(d.Seconds()) }

// SettleFailed counts a reply whose end failed at stage.
func SettleFailed(stage string) { settleFailures.WithLabelValues(stage).Inc() }

// SettleRecovered counts a reply end announced for a stopped instance.
func SettleRecovered() { settlesRecovered.Inc() }

// FrameLimited counts a frame of type typ refused as rate_limited.
func FrameLimited(typ string) { framesLimited.WithLabelValues(typ).Inc() }
