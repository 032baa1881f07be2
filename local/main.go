// Command local is the all-functions shim: it mounts every function's handler
// on one mux at PORT and forwards the relay's WebSocket paths to RELAY_URL, so a
// client sees one origin. `local migrate` applies the database migrations;
// `local vapid` prints a new VAPID key pair; `local demo` seeds the demo account;
// `local mailcatcher` is a loopback SMTP server keeping mails in a folder;
// `local conversation <id>`, `local agents`, `local drain <instance>` and
// `local grant <userId> <amount> <key>` are the operator's commands.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/logging"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		slog.Error("local stopped", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(ctx)
	case "migrate":
		return migrate(ctx)
	case "vapid":
		return vapid(os.Stdout)
	case "demo":
		return demo(ctx, os.Stdout)
	case "mailcatcher":
		return mailcatcher(ctx, os.Stdout, args[1:])
	case "conversation", "agents", "drain", "grant":
		return opsCommand(ctx, os.Stdout, cmd, args[1:])
	default:
		return fmt.Errorf("unknown command %q (want serve, migrate, vapid, demo, mailcatcher, conversation, agents, drain or grant)", cmd)
	}
}

func migrate(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	slog.SetDefault(logging.New(os.Stderr, cfg.LogLevel))
	applied, err := store.Migrate(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	slog.Info("migrated", "applied", applied)
	return nil
}

func serve(ctx context.Context) error {
	p, err := platform.Open(ctx)
	if err != nil {
		return err
	}
	defer p.Close()
	h, err := shim(p)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(p.Config.Port)))
	if err != nil {
		return err
	}
	slog.Info("shim listening", "addr", ln.Addr().String(), "relay", p.Config.RelayURL)
	return httpx.Serve(ctx, httpx.NewServer(h), ln, p.Config.ShutdownGrace)
}

// shim mounts every function's patterns on one mux, each served by that
// function's own wrapped handler, exactly as its Lambda would serve it, and
// the built web app at / when WEB_DIR names one.
func shim(p *platform.Platform) (http.Handler, error) {
	mux := httpx.NewRouter()
	seen := map[string]string{}
	for _, f := range functions {
		r := f.Build(p)
		h := p.Wrap(r)
		for _, pattern := range r.Patterns() {
			if other, dup := seen[pattern]; dup {
				return nil, fmt.Errorf("route %q registered by both %s and %s", pattern, other, f.Name)
			}
			seen[pattern] = f.Name
			mux.Handle(pattern, h)
		}
	}
	// Local file storage is served from this origin (BETTER_AUTH_URL/files/…):
	// signed download links and presigned uploads. If it cannot be opened the
	// uploads routes answer 503 and say why; the rest keeps working.
	if !p.Config.S3Configured() {
		if st, err := storage.FromConfig(p.Config); err == nil {
			if local, ok := st.(*storage.Local); ok {
				mux.Handle("/files/", p.Wrap(storage.LocalHandler(local)))
			}
		}
	}
	relay, err := url.Parse(p.Config.RelayURL)
	if err != nil {
		return nil, err
	}
	// ReverseProxy passes WebSocket upgrades through (Go 1.12+).
	proxy := httputil.NewSingleHostReverseProxy(relay)
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		httpx.WriteError(w, r, &ari.Error{Code: ari.CodeUnavailable, Message: "relay is unavailable", Err: err})
	}
	if h, ok := metrics.Endpoint(p.Config); ok {
		mux.Handle("GET "+metrics.Path, h)
	}
	mux.Handle("/ws", proxy)
	mux.Handle("/ws/agent", proxy)
	return webApp(p.Config.WebDir, p.Config.WebAppOrigins, append([]string{p.Config.BaseURL}, p.Config.TrustedOrigins...), answerPreflights(p, mux)), nil
}

// answerPreflights sends every CORS preflight through the CORS layer every
// function runs (p.Wrap), which answers it without going further. Routed
// through the mux it would match none of the method patterns ("POST
// /api/…") and get 405 before reaching any function. Deployed, the HTTP API
// answers preflights itself (CorsConfiguration in template.yaml).
func answerPreflights(p *platform.Platform, mux http.Handler) http.Handler {
	preflight := p.Wrap(mux)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if auth.IsPreflight(r) {
			preflight.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
