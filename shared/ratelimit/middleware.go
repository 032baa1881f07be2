package ratelimit

import (
	"net/http"
)

// Middleware counts every request against rule under the id that key
// returns, and hands refused requests to reject (which writes the 429 in the
// shape the path calls for).
func (l *Limiter) Middleware(rule Rule, key func(*http.Request) string, reject func(http.ResponseWriter, *http.Request, Decision)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			d := l.Allow(r.Context(), rule, key(r))
			if !d.Allowed {
				reject(w, r, d)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
