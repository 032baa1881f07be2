// Command lambda runs the orphaned-upload cleanup when its schedule invokes it.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/uploadscleanup"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
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
	d, err := uploadscleanup.DepsFrom(p)
	if err != nil {
		return err
	}
	return lambdaserve.Scheduled(d.Sweep)
}
