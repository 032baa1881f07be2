package httpx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

type ctxKey struct{}

// Observe learns the pattern from the innermost Router that matched, also
// through middleware that copies the request, and reports unmatched requests
// and refusals in front of the routes with no route.
func TestObserveReportsRoutePattern(t *testing.T) {
	inner := NewRouter()
	inner.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusAccepted)
		return nil
	})
	copying := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("refuse") != "" {
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, 1)))
		})
	}
	var got []Request
	h := Chain(inner, RequestID, Observe(func(_ *http.Request, req Request) { got = append(got, req) }), AccessLog, copying)
	outer := NewRouter()
	outer.Handle("GET /api/things/{id}", h)
	outer.Handle("/", h)
	for _, c := range []struct {
		target string
		route  string
		status int
	}{
		{"/api/things/42", "GET /api/things/{id}", http.StatusAccepted},
		{"/api/nothing", "", http.StatusNotFound},
		{"/api/things/42?refuse=1", "", http.StatusTooManyRequests},
	} {
		got = nil
		outer.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", c.target, nil))
		if len(got) != 1 || got[0].Route != c.route || got[0].Status != c.status || got[0].Method != "GET" || got[0].Duration <= 0 {
			t.Fatalf("%s: observed %+v, want route %q status %d", c.target, got, c.route, c.status)
		}
	}

	// A plain ServeMux's pattern is read from the request; a hijacked
	// upgrade, which writes nothing through the writer, is a 101.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", func(http.ResponseWriter, *http.Request) {})
	got = nil
	req := httptest.NewRequest("GET", "/ws", nil)
	req.Header.Set("Upgrade", "websocket")
	Observe(func(_ *http.Request, req Request) { got = append(got, req) })(mux).ServeHTTP(httptest.NewRecorder(), req)
	if len(got) != 1 || got[0].Route != "GET /ws" || got[0].Status != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade observed %+v", got)
	}
}
