// Package sandbox reserves /api/sandbox/*: the code sandbox is switched off, and
// every route says so clearly with 501 rather than a confusing 404.
package sandbox

import (
	"net/http"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
)

// Deps is empty: the sandbox needs nothing while it is unavailable.
type Deps struct{}

// New returns the sandbox handler.
func New(Deps) *httpx.Router {
	r := httpx.NewRouter()
	unavailable := func(w http.ResponseWriter, req *http.Request) error {
		return ari.Errorf(ari.CodeNotImplemented, "sandbox is temporarily unavailable")
	}
	r.HandleFunc("/api/sandbox", unavailable)
	r.HandleFunc("/api/sandbox/{rest...}", unavailable)
	return r
}
