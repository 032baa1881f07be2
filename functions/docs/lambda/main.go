// Command lambda serves the docs function (GET /api/openapi.json) on AWS Lambda.
package main

import (
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/docs"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	// The document is embedded; no database or Redis is needed.
	if err := platform.ServeLambda(platform.Wrap(docs.New(docs.Deps{}))); err != nil {
		slog.Error("docs function stopped", "err", err)
		os.Exit(1)
	}
}
