// Package docs serves the OpenAPI 3.1 description of every REST route at
// GET /api/openapi.json. The document is written by hand in openapi.json and
// embedded; local/openapi_test.go fails when it and the registered routes
// disagree, so it cannot silently fall behind.
package docs

import (
	_ "embed"
	"net/http"
	"strconv"

	"github.com/ari-chat/ari-server/shared/httpx"
)

// OpenAPI is the document as served.
//
//go:embed openapi.json
var OpenAPI []byte

// Deps is empty: the document is part of the binary.
type Deps struct{}

// New returns the docs handler. The document is public: it describes the API,
// not anyone's data.
func New(Deps) *httpx.Router {
	r := httpx.NewRouter()
	r.HandleFunc("GET /api/openapi.json", func(w http.ResponseWriter, _ *http.Request) error {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(OpenAPI)))
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, err := w.Write(OpenAPI)
		return err
	})
	return r
}
