// Package health answers health checks: it pings each dependency (Postgres,
// Redis) with its latency. Functions and the relay both serve it.
package health

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
)

// Check pings one dependency.
type Check func(ctx context.Context) error

// Deps names the checks, e.g. {"postgres": db.Ping, "redis": ...}.
type Deps struct {
	Checks  map[string]Check
	Timeout time.Duration // per check; default 2s
}

type checkResult struct {
	Status    string  `json:"status"`
	LatencyMs float64 `json:"latencyMs"`
	Error     string  `json:"error,omitempty"`
}

type okBody struct {
	Status string                 `json:"status"`
	Checks map[string]checkResult `json:"checks"`
}

type downBody struct {
	Error  errorDetail            `json:"error"`
	Status string                 `json:"status"`
	Down   []string               `json:"down"`
	Checks map[string]checkResult `json:"checks"`
}

type errorDetail struct {
	Code    ari.Code `json:"code"`
	Message string   `json:"message"`
}

// Handler answers with every check's status and latency: 200 when all are ok,
// else 503 with the error shape naming what is down.
func Handler(d Deps) httpx.HandlerFunc {
	if d.Timeout == 0 {
		d.Timeout = 2 * time.Second
	}
	return func(w http.ResponseWriter, req *http.Request) error {
		results := run(req.Context(), d)
		var down []string
		for name, res := range results {
			if res.Status != "ok" {
				down = append(down, name)
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		if len(down) == 0 {
			return httpx.JSON(w, http.StatusOK, okBody{Status: "ok", Checks: results})
		}
		sort.Strings(down)
		return httpx.JSON(w, http.StatusServiceUnavailable, downBody{
			Error:  errorDetail{Code: ari.CodeUnavailable, Message: strings.Join(down, ", ") + " down"},
			Status: "unavailable", Down: down, Checks: results,
		})
	}
}

func run(ctx context.Context, d Deps) map[string]checkResult {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := make(map[string]checkResult, len(d.Checks))
	for name, check := range d.Checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, d.Timeout)
			defer cancel()
			start := time.Now()
			err := check(cctx)
			res := checkResult{Status: "ok", LatencyMs: float64(time.Since(start).Microseconds()) / 1000}
			if err != nil {
				res.Status = "down"
				// Name the failure class only; connection strings stay out of responses.
				res.Error = "unreachable"
				if cctx.Err() != nil {
					res.Error = "timeout"
				}
			}
			mu.Lock()
			out[name] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}
