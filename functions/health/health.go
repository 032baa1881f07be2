// Package health serves GET /health for the REST side: Postgres and Redis, each
// with its latency; 200 when both answer, 503 naming what is down.
package health

import (
	"github.com/ari-chat/ari-server/shared/health"
	"github.com/ari-chat/ari-server/shared/httpx"
)

// Deps are the checks by name ("postgres", "redis").
type Deps = health.Deps

// Check pings one dependency.
type Check = health.Check

// New returns the health handler.
func New(d Deps) *httpx.Router {
	r := httpx.NewRouter()
	r.HandleFunc("GET /health", health.Handler(d))
	return r
}
