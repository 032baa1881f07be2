// Command lambda serves the groups function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/groups"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	if err := run(context.Background()); err != nil {
		slog.Error("groups function stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	h := groups.New(groups.Deps{
		DB:     p.DB,
		Events: events.NewPublisher(p.Redis, p.Keys),
		Auth:   &auth.Authenticator{DB: p.DB, Secret: p.Config.AuthSecret, Cookies: auth.NewCookies(p.Config.BaseURL)},
	})
	return platform.ServeLambda(platform.Wrap(h))
}
