// Command lambda serves the sandbox function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/sandbox"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("sandbox function stopped", "err", err)
		os.Exit(1)
	}
}

// run serves under p.Wrap like every function (JSON logs with request ids,
// CORS, rate limit); the sandbox itself touches neither Postgres nor Redis,
// and the platform connects lazily.
func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	return lambdaserve.HTTP(p.Wrap(sandbox.New(sandbox.DepsFrom(p))))
}
