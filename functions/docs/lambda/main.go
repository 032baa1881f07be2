// Command lambda serves the docs function (GET /api/openapi.json) on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/docs"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("docs function stopped", "err", err)
		os.Exit(1)
	}
}

// run serves under p.Wrap like every function, so the document gets the same
// CORS (API explorers on a trusted origin can fetch it) and rate limit; the
// document itself is embedded and needs no database.
func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	return lambdaserve.HTTP(p.Wrap(docs.New(docs.DepsFrom(p))))
}
