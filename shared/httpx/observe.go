package httpx

import (
	"net/http"
	"time"
)

// Request is what Observe reports of one request once it has been answered.
type Request struct {
	Method string
	// Route is the pattern that served the request ("GET /api/agents/{id}"),
	// as the innermost Router (or ServeMux) that matched it knows it; "" when
	// none did: no route matched, or a layer in front of the routes answered.
	Route    string
	Status   int
	Duration time.Duration
}

// Observe calls record once per request, after the response, with its route
// pattern, status and duration. Put it outside the routers and inside
// RequestID (record may log the request id from r's context).
func Observe(record func(r *http.Request, req Request)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rw := &routeWriter{statusWriter: statusWriter{ResponseWriter: w}}
			outer := r.Pattern // set by a mux in front of this one, not a route of next's
			defer func() {
				route := rw.route
				if route == "" && r.Pattern != outer {
					route = r.Pattern // a plain ServeMux inside sets it on the request it was given
				}
				status := rw.status
				switch {
				case status != 0:
				case r.Header.Get("Upgrade") != "":
					// Nothing went through the writer: the connection was
					// hijacked and answered 101 (a WebSocket upgrade).
					status = http.StatusSwitchingProtocols
				default:
					status = http.StatusOK
				}
				record(r, Request{Method: r.Method, Route: route, Status: status, Duration: time.Since(start)})
			}()
			next.ServeHTTP(rw, r)
		})
	}
}

// routeWriter is where a Router deeper in the chain leaves the pattern it
// matched (setRoute): the request it sees is often a copy (middleware adds to
// its context), the writer is not.
type routeWriter struct {
	statusWriter
	route string
}

// setRoute tells the Observe around w, if any, which pattern serves the
// request. Middleware writers are dug through by Unwrap, as http.ResponseController does.
func setRoute(w http.ResponseWriter, pattern string) {
	for w != nil {
		if rw, ok := w.(*routeWriter); ok {
			rw.route = pattern
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}
