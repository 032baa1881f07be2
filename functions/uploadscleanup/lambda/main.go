// Command lambda runs the orphaned-upload cleanup when its schedule invokes it.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/uploadscleanup"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("uploadscleanup function stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	deps, err := uploadscleanup.DepsFrom(p)
	if err != nil {
		return err
	}
	lambda.Start(func(ctx context.Context) error {
		n, err := uploadscleanup.Run(ctx, deps)
		slog.InfoContext(ctx, "orphaned uploads removed", "count", n, "olderThan", deps.OlderThan.String(), "err", err)
		return err
	})
	return nil
}
