// Command lambda serves the agents function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/agents"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("agents function stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	return platform.ServeLambda(p.Wrap(agents.New(agents.Deps{
		DB: p.DB, Redis: p.Redis, Keys: p.Keys,
		Auth:   p.Authenticator(),
		Events: events.NewPublisher(p.Redis, p.Keys),

		AllowPrivateNetworks: p.Config.A2AAllowPrivateNetworks,
	})))
}
