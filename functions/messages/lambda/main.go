// Command lambda serves the messages function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/messages"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("messages function stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	d, err := messages.DepsFrom(p)
	if err != nil {
		return err
	}
	return lambdaserve.HTTP(p.Wrap(messages.New(d)))
}
