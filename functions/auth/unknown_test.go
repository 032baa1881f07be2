package auth_test

import (
	"net/http"
	"testing"
)

// Under /api/auth, what is not an endpoint answers as Better Auth does: 404
// with an empty body for an unknown route, a wrong method or a trailing
// slash, and 405 for POST get-session.
func TestUnknownAuthRoutesAnswerAsBetterAuth(t *testing.T) {
	s := newServer(t, nil)
	c := s.client(t)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/api/auth/no-such-endpoint", http.StatusNotFound},
		{http.MethodPut, "/api/auth/sign-in/email", http.StatusNotFound},
		{http.MethodGet, "/api/auth/get-session/", http.StatusNotFound},
		{http.MethodDelete, "/api/auth/a/b/c", http.StatusNotFound},
		{http.MethodPost, "/api/auth/get-session", http.StatusMethodNotAllowed},
	} {
		res := c.do(tc.method, tc.path, nil, map[string]string{"Origin": s.cfg.BaseURL})
		if res.Status != tc.want || len(res.Body) != 0 {
			t.Errorf("%s %s: %d %q, want %d and an empty body", tc.method, tc.path, res.Status, res.Body, tc.want)
		}
	}
}
