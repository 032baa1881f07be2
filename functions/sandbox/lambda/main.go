// Command lambda serves the sandbox function on AWS Lambda.
package main

import (
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/sandbox"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	// The sandbox needs no database or Redis while it is unavailable.
	if err := platform.ServeLambda(platform.Wrap(sandbox.New(sandbox.Deps{}))); err != nil {
		slog.Error("sandbox function stopped", "err", err)
		os.Exit(1)
	}
}
