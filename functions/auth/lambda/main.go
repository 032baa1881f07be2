// Command lambda serves the auth function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/ratelimit"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("auth function stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	h := auth.New(auth.Deps{Config: p.Config, DB: p.DB, Limiter: ratelimit.New(p.Redis, p.Keys),
		Events: events.NewPublisher(p.Redis, p.Keys)})
	return platform.ServeLambda(p.Wrap(h))
}
