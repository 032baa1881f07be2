// Command lambda serves the messages function on AWS Lambda.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/ari-chat/ari-server/functions/messages"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/storage"
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
	files, err := storage.FromConfig(p.Config)
	if err != nil {
		return err
	}
	h := messages.New(messages.Deps{
		DB:     p.DB,
		Events: events.NewPublisher(p.Redis, p.Keys),
		Auth:   &auth.Authenticator{DB: p.DB, Secret: p.Config.AuthSecret, Cookies: auth.NewCookies(p.Config.BaseURL)},
		Files:  files,
	})
	return platform.ServeLambda(platform.Wrap(h))
}
