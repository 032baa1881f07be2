// Command lambda serves the conversations function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/conversations"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("conversations function stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	return lambdaserve.HTTP(p.Wrap(conversations.New(conversations.DepsFrom(p))))
}
