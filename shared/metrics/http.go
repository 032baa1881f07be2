package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// RouteUnmatched labels requests answered before or without a route: no
// pattern matched (404, 405), or a layer in front of the routes answered
// (rate limit, origin refusal, CORS preflight). Raw paths are never labels.
const RouteUnmatched = "unmatched"

var httpDuration = register(prometheus.NewHistogramVec(prometheus.HistogramOpts{
	Name:    "ari_http_request_duration_seconds",
	Help:    "HTTP requests served, by route pattern (e.g. \"GET /api/conversations/{id}\") and status code, with their duration.",
	Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
}, []string{"route", "status"}))

// HTTPRequest records one request; route is the pattern that matched ("" for
// none).
func HTTPRequest(route string, status int, d time.Duration) {
	if route == "" {
		route = RouteUnmatched
	}
	httpDuration.WithLabelValues(route, strconv.Itoa(status)).Observe(d.Seconds())
}
