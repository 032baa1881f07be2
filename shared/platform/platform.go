// Package platform builds, once per process, what every binary needs: the
// configuration, the JSON logger, the Postgres pool and the Redis client. Mains
// call Open, build their handlers (each function's DepsFrom(p) assembles its
// dependencies), and hand them to lambdaserve or a server. Nothing here links
// Lambda code.
package platform

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/health"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/logging"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/metrics"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Platform holds the process-wide clients. Warm Lambdas reuse them.
type Platform struct {
	Config config.Config
	Log    *slog.Logger
	DB     *store.DB
	Redis  redis.UniversalClient
	Keys   kv.Keys
	// Mailer sends mail over SMTP_URL off the request path; nil when
	// SMTP_URL is not set. Close waits for it to drain.
	Mailer *mailer.Mailer
	// Record hears of every request the wrapped handlers (Wrap) answer:
	// Prometheus's ari_http_request_duration_seconds by default; lambda
	// mains log CloudWatch Embedded Metric Format lines instead (nil: none).
	Record func(r *http.Request, req httpx.Request)
}

// RecordPrometheus records a request in ari_http_request_duration_seconds.
func RecordPrometheus(_ *http.Request, req httpx.Request) {
	metrics.HTTPRequest(req.Route, req.Status, req.Duration)
}

// Open reads the environment and connects. The pool connects lazily, so a
// process starts even while Postgres or Redis is down; /health says so.
func Open(ctx context.Context) (*Platform, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	return FromConfig(ctx, cfg)
}

// FromConfig connects using an already parsed configuration.
func FromConfig(ctx context.Context, cfg config.Config) (*Platform, error) {
	log := logging.New(os.Stderr, cfg.LogLevel)
	slog.SetDefault(log)
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{
		MaxConns: cfg.DBMaxConns, MaxConnIdle: cfg.DBMaxConnIdle, ConnectTimeout: cfg.DBConnectTimeout,
	})
	if err != nil {
		return nil, err
	}
	rdb, err := kv.Open(cfg.RedisURL, cfg.RedisCluster)
	if err != nil {
		db.Close()
		return nil, err
	}
	var ml *mailer.Mailer
	if cfg.SMTPURL != "" {
		srv, err := mailer.ParseURL(cfg.SMTPURL)
		if err == nil {
			ml, err = mailer.New(mailer.Options{Server: srv, From: cfg.EmailFrom, Log: log})
		}
		if err != nil {
			db.Close()
			_ = rdb.Close()
			return nil, err
		}
	}
	return &Platform{Config: cfg, Log: log, DB: db, Redis: rdb, Keys: kv.Keys{Prefix: cfg.RedisPrefix}, Mailer: ml,
		Record: RecordPrometheus}, nil
}

// Close delivers the mail still queued (for at most SHUTDOWN_TIMEOUT), then
// releases the clients.
func (p *Platform) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), p.Config.ShutdownGrace)
	p.Mailer.Shutdown(ctx)
	cancel()
	p.DB.Close()
	_ = p.Redis.Close()
}

// HealthChecks are the dependency checks every process reports.
func (p *Platform) HealthChecks() health.Deps {
	return health.Deps{Checks: map[string]health.Check{
		"postgres": p.DB.Ping,
		"redis":    func(ctx context.Context) error { return p.Redis.Ping(ctx).Err() },
	}}
}

// Wrap applies the base middleware: request id, request metrics
// (RecordPrometheus), access log and panic recovery. It is for processes that have no Platform (the sandbox, the
// relay's own mux); functions with a Platform use p.Wrap, which adds CORS,
// the origin check and the shared rate limit.
func Wrap(h http.Handler) http.Handler {
	return httpx.Chain(h, httpx.RequestID, httpx.Observe(RecordPrometheus), httpx.AccessLog)
}

// Wrap applies the middleware every function runs under, identically in
// Lambda and in the local shim: the base set (see the package function
// Wrap, with p.Record as the request metrics); CORS for the trusted origins (BETTER_AUTH_URL's origin plus
// BETTER_AUTH_TRUSTED_ORIGINS, credentials allowed, preflight cached); the
// origin check on cookie-carrying writes (functions/auth applies Better
// Auth's own under /api/auth); and, when p has Redis, the general rate limit
// (RATE_LIMIT_API_PER_MINUTE per signed session token, else per client IP)
// whose counters every instance and Lambda shares.
func (p *Platform) Wrap(h http.Handler) http.Handler {
	cfg := p.Config
	origins := auth.NewOrigins(cfg.BaseURL, cfg.TrustedOrigins)
	mw := []func(http.Handler) http.Handler{httpx.RequestID}
	if p.Record != nil {
		mw = append(mw, httpx.Observe(p.Record))
	}
	mw = append(mw, httpx.AccessLog, origins.CORS(), originCheck(origins))
	if p.Redis != nil {
		cookies := auth.NewCookies(cfg.BaseURL)
		key := func(r *http.Request) string {
			if tok, ok := auth.SignedSessionToken(r, cookies, cfg.AuthSecret); ok {
				return "session:" + ratelimit.Hash(tok)
			}
			return "ip:" + ratelimit.ClientIP(r, cfg.TrustProxyHeaders)
		}
		rule := ratelimit.PerMinute("api", cfg.RateLimitAPI)
		mw = append(mw, ratelimit.New(p.Redis, p.Keys).Middleware(rule, key, rejectRateLimited))
	}
	return httpx.Chain(h, mw...)
}

// originCheck refuses cookie-carrying writes from untrusted origins outside
// /api/auth, whose function checks (and answers) in Better Auth's own way.
func originCheck(o auth.Origins) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !auth.IsAuthPath(r) {
				if pr := o.CheckRequest(r); pr != nil {
					httpx.WriteError(w, r, &ari.Error{Code: ari.CodeForbidden, Message: pr.Message})
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

func rejectRateLimited(w http.ResponseWriter, r *http.Request, d ratelimit.Decision) {
	if auth.IsAuthPath(r) {
		httpx.WriteBetterAuthError(w, http.StatusTooManyRequests, "TOO_MANY_REQUESTS",
			"Too many requests. Please try again later.", d.RetryAfterSeconds())
		return
	}
	httpx.WriteError(w, r, &ari.Error{Code: ari.CodeRateLimited, Message: "too many requests, try again later",
		RetryAfter: d.RetryAfterSeconds()})
}

// Authenticator is the session check every signed-in route uses: Better Auth's
// cookie or a bearer token, extending a used session once per
// AUTH_SESSION_UPDATE_AGE as Better Auth does.
func (p *Platform) Authenticator() *auth.Authenticator {
	return &auth.Authenticator{DB: p.DB, Secret: p.Config.AuthSecret, Cookies: auth.NewCookies(p.Config.BaseURL),
		Policy: auth.SessionPolicy{ExpiresIn: p.Config.SessionExpiresIn, UpdateAge: p.Config.SessionUpdateAge}}
}
