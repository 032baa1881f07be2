// Command cleanup removes orphaned uploads once (ORPHAN_UPLOAD_TTL decides
// what is old enough): `go run ./local/cleanup`, or from cron.
package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/ari-chat/ari-server/functions/uploadscleanup"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("cleanup failed", "err", err)
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
	n, err := uploadscleanup.Run(ctx, deps)
	if err != nil {
		return err
	}
	slog.Info("orphaned uploads removed", "count", n.Attachments, "strays", n.Strays, "olderThan", deps.OlderThan.String())
	return nil
}
