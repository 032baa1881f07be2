// Command lambda serves the docs function (GET /api/openapi.json) on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/docs"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("docs", func(p *platform.Platform) (http.Handler, error) {
		return docs.New(docs.DepsFrom(p)), nil
	})
}
