// Command relay is the long-running process that holds every client and agent
// WebSocket. Run N of them behind a load balancer; they coordinate through Redis.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/ari-chat/ari-server/shared/health"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
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
	mux := httpx.NewRouter()
	mux.HandleFunc("GET /health", health.Handler(p.HealthChecks()))
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(p.Config.RelayPort)))
	if err != nil {
		return err
	}
	slog.Info("relay listening", "addr", ln.Addr().String())
	return httpx.Serve(ctx, httpx.NewServer(platform.Wrap(mux)), ln, p.Config.ShutdownGrace)
}
