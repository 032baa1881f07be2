// Command relay is the long-running process that holds every client and agent
// WebSocket. Run N of them behind a load balancer; they coordinate through Redis.
package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/ari-chat/ari-server/relay/server"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/pushtrigger"
	"github.com/ari-chat/ari-server/shared/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		slog.Error("relay stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	id := p.Config.RelayInstanceID
	if id == "" {
		// Unique per process: a restarted instance must not inherit the
		// presence entries of the one it replaces.
		host, _ := os.Hostname()
		id = host + "-" + strconv.Itoa(os.Getpid())
	}
	deps := server.Deps{Config: p.Config, DB: p.DB, Redis: p.Redis, Keys: p.Keys, Log: p.Log,
		InstanceID: id, Health: p.HealthChecks()}
	// Push notifications are worth less than the relay: bad VAPID keys are
	// logged and push stays off (a nil Push) rather than the relay refusing
	// to start.
	if trig, err := pushtrigger.New(p.Config, p.DB, p.Redis, p.Keys, p.Log); err != nil {
		slog.Error("push notifications off", "err", err)
	} else {
		push := pushtrigger.NewAsyncNotifier(trig, 0, 0, p.Log)
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			push.Shutdown(ctx)
		}()
		deps.Push = push
	}
	// Tasks carry links to their attachments; without storage they carry the
	// link stored at upload time.
	files, err := storage.FromConfig(p.Config)
	if err != nil {
		slog.Error("attachment links from storage off", "err", err)
	} else {
		deps.Files = files
		if c, ok := files.(io.Closer); ok {
			defer c.Close()
		}
	}
	s := server.New(deps)
	ln, err := net.Listen("tcp", net.JoinHostPort(p.Config.RelayHost, strconv.Itoa(p.Config.RelayPort)))
	if err != nil {
		return err
	}
	slog.Info("relay listening", "addr", ln.Addr().String(), "instance", id)
	return s.Run(ctx, ln, platform.Wrap(s.Handler()))
}
