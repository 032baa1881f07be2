package metrics

import "github.com/prometheus/client_golang/prometheus"

var pushSends = register(prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "ari_push_sends_total", Help: "Web Push sends to one subscription, by outcome (delivered, gone, failed).",
}, []string{"outcome"}))

// PushSent counts one subscription's send ending in outcome.
func PushSent(outcome string) { pushSends.WithLabelValues(outcome).Inc() }
