package lambdaserve

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/logging"
)

// EMFNamespace is the CloudWatch namespace of the request metrics.
const EMFNamespace = "Ari"

// emfDirective is the _aws block every line carries: CloudWatch Logs extracts
// RequestDuration (ms) and Requests (count) by function, route pattern and
// status, the figures ari_http_request_duration_seconds holds on the shim.
var emfDirective = []map[string]any{{
	"Namespace":  EMFNamespace,
	"Dimensions": [][]string{{"Function", "Route", "Status"}},
	"Metrics": []map[string]string{
		{"Name": "RequestDuration", "Unit": "Milliseconds"},
		{"Name": "Requests", "Unit": "Count"},
	},
}}

// EMF returns a platform.Platform Record that writes one CloudWatch Embedded
// Metric Format line per request to w (a Lambda's stdout goes to its log
// group, where CloudWatch turns the lines into metrics). The request id is
// a property of the line, not a dimension, so a slow request's log lines can
// be found from the metric.
func EMF(w io.Writer, function string, now func() time.Time) func(r *http.Request, req httpx.Request) {
	var mu sync.Mutex
	return func(r *http.Request, req httpx.Request) {
		route := req.Route
		if route == "" {
			route = "unmatched"
		}
		line, err := json.Marshal(map[string]any{
			"_aws":            map[string]any{"Timestamp": now().UnixMilli(), "CloudWatchMetrics": emfDirective},
			"Function":        function,
			"Route":           route,
			"Status":          strconv.Itoa(req.Status),
			"RequestDuration": float64(req.Duration.Microseconds()) / 1000,
			"Requests":        1,
			"requestId":       logging.RequestID(r.Context()),
		})
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(append(line, '\n'))
	}
}
