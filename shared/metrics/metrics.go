// Package metrics owns every Prometheus metric an Ari process exports: their
// names (all prefixed ari_), labels and buckets, and the one registry they
// live in. Code elsewhere calls the small helpers here (SocketOpened,
// FrameIn, HTTPRequest, …) and never names a metric itself; README's
// "Metrics" section lists them all.
//
// Helpers on the relay's hot paths (frames, chunk delivery) resolve their
// label values once and allocate nothing per call.
package metrics

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/httpx"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Path is where the relay and the shim serve the exposition.
const Path = "/metrics"

// registry holds Ari's metrics and the Go runtime's and process's own, so
// that a scrape of one process shows its heap, goroutines and CPU as well.
var registry = prometheus.NewRegistry()

func init() {
	registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// ours are the collectors of Ari's own metrics (README's test lists them).
var ours []prometheus.Collector

func register[C prometheus.Collector](c C) C {
	registry.MustRegister(c)
	ours = append(ours, c)
	return c
}

// Endpoint is the handler for Path under c, and whether to serve it at all:
// METRICS_ENABLED=false turns it off; under ARI_ENV=production it is served
// only with a METRICS_TOKEN, which every scrape must then present.
func Endpoint(c config.Config) (http.Handler, bool) {
	if !c.MetricsServed() {
		return nil, false
	}
	return Handler(c.MetricsToken), true
}

// Handler serves the exposition. With a token, a request must carry it as
// "Authorization: Bearer <token>" (compared in constant time) or it gets 401.
func Handler(token string) http.Handler {
	h := promhttp.HandlerFor(registry, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			httpx.WriteError(w, r, &ari.Error{Code: ari.CodeUnauthorized, Message: "metrics need the bearer token set in METRICS_TOKEN"})
			return
		}
		h.ServeHTTP(w, r)
	})
}
