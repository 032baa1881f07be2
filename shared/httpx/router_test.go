package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ari-chat/ari-server/shared/httpx"
)

// tag returns middleware that appends name to the X-Trace header, so a test
// can read the order middleware ran in.
func tag(name string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("X-Trace", name)
			next.ServeHTTP(w, r)
		})
	}
}

func TestRouterWith(t *testing.T) {
	r := httpx.NewRouter()
	outer := r.With(tag("outer"))
	inner := outer.With(tag("inner"))
	ok := func(w http.ResponseWriter, _ *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	r.HandleFunc("GET /public", ok)
	outer.HandleFunc("GET /outer", ok)
	inner.HandleFunc("GET /inner", ok)

	if got, want := strings.Join(r.Patterns(), ","), "GET /inner,GET /outer,GET /public"; got != want {
		t.Fatalf("patterns = %s, want %s (views share one registry)", got, want)
	}
	for path, want := range map[string]string{"/public": "", "/outer": "outer", "/inner": "outer,inner"} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != http.StatusNoContent {
			t.Errorf("%s: status %d", path, w.Code)
		}
		if got := strings.Join(w.Header().Values("X-Trace"), ","); got != want {
			t.Errorf("%s: middleware ran %q, want %q", path, got, want)
		}
	}
	// A view's middleware never leaks into its parent or a sibling.
	sibling := r.With(tag("sibling"))
	sibling.HandleFunc("GET /sibling", ok)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/sibling", nil))
	if got := strings.Join(w.Header().Values("X-Trace"), ","); got != "sibling" {
		t.Errorf("/sibling: middleware ran %q, want sibling", got)
	}
}
