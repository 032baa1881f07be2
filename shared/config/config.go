// Package config reads every setting any Ari binary uses from the environment,
// once, into one typed struct. Defaults are for local use; an invalid value stops
// the process at start with a message naming the variable.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
)

// DevSecret is the local-only default for BETTER_AUTH_SECRET; production refuses it.
const DevSecret = "ari-local-development-secret-change-me-0123456789"

// Config is the whole configuration. .env.example documents every variable.
type Config struct {
	Env      string `env:"ARI_ENV" envDefault:"local"`
	LogLevel string `env:"LOG_LEVEL" envDefault:"info"`

	Port          int           `env:"PORT" envDefault:"3501"`
	RelayPort     int           `env:"RELAY_PORT" envDefault:"3502"`
	RelayURL      string        `env:"RELAY_URL" envDefault:"http://127.0.0.1:3502"`
	ShutdownGrace time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"15s"`
	// WebDir is the built web app (local/web/dist) the shim serves at /;
	// empty or missing: / answers as any unknown route.
	WebDir string `env:"WEB_DIR" envDefault:""`
	// WebAppOrigins are the origins the web app may show apps from (the
	// frame-src of its Content-Security-Policy): where the entryUrls of the
	// apps its users open live. The default is the sample notes app that the
	// shim serves at /apps/notes/ under 127.0.0.1, another site than
	// localhost.
	WebAppOrigins []string `env:"WEB_APP_ORIGINS" envSeparator:"," envDefault:"http://127.0.0.1:3501"`

	DatabaseURL      string        `env:"DATABASE_URL" envDefault:"postgres://postgres@127.0.0.1:54329/ari?sslmode=disable"`
	DBMaxConns       int32         `env:"DB_MAX_CONNS" envDefault:"20"`
	DBMaxConnIdle    time.Duration `env:"DB_MAX_CONN_IDLE_TIME" envDefault:"30s"`
	DBConnectTimeout time.Duration `env:"DB_CONNECT_TIMEOUT" envDefault:"10s"`

	RedisURL    string `env:"REDIS_URL" envDefault:"redis://127.0.0.1:63799/0"`
	RedisPrefix string `env:"REDIS_PREFIX" envDefault:""`
	// RedisCluster makes REDIS_URL a cluster URL (kv.Open).
	RedisCluster bool `env:"REDIS_CLUSTER" envDefault:"false"`

	AuthSecret        string        `env:"BETTER_AUTH_SECRET" envDefault:"ari-local-development-secret-change-me-0123456789"`
	BaseURL           string        `env:"BETTER_AUTH_URL" envDefault:"http://localhost:3501"`
	TrustedOrigins    []string      `env:"BETTER_AUTH_TRUSTED_ORIGINS" envSeparator:"," envDefault:""`
	PasswordAlgorithm string        `env:"AUTH_PASSWORD_ALGORITHM" envDefault:"scrypt"`
	SessionExpiresIn  time.Duration `env:"AUTH_SESSION_EXPIRES_IN" envDefault:"720h"`
	SessionUpdateAge  time.Duration `env:"AUTH_SESSION_UPDATE_AGE" envDefault:"24h"`
	RateLimitAuth     int           `env:"RATE_LIMIT_AUTH_PER_MINUTE" envDefault:"10"`
	RateLimitAPI      int           `env:"RATE_LIMIT_API_PER_MINUTE" envDefault:"600"`
	TrustProxyHeaders bool          `env:"TRUST_PROXY_HEADERS" envDefault:"false"`
	TrustedProviders  []string      `env:"AUTH_TRUSTED_PROVIDERS" envSeparator:"," envDefault:""`
	// RequireEmailVerification is Better Auth's requireEmailVerification.
	RequireEmailVerification bool `env:"AUTH_REQUIRE_EMAIL_VERIFICATION" envDefault:"false"`
	// DeleteAccountConfirmation is Better Auth's
	// user.deleteUser.sendDeleteAccountVerification: delete-user mails a
	// link (valid a day) and the account goes only when it is opened.
	DeleteAccountConfirmation bool   `env:"AUTH_DELETE_ACCOUNT_CONFIRMATION" envDefault:"false"`
	GoogleClientID            string `env:"GOOGLE_CLIENT_ID"`
	GoogleClientSecret        string `env:"GOOGLE_CLIENT_SECRET"`
	GoogleAuthURL             string `env:"GOOGLE_AUTH_URL" envDefault:"https://accounts.google.com/o/oauth2/v2/auth"`
	GoogleTokenURL            string `env:"GOOGLE_TOKEN_URL" envDefault:"https://oauth2.googleapis.com/token"`
	GoogleUserInfoURL         string `env:"GOOGLE_USERINFO_URL" envDefault:"https://openidconnect.googleapis.com/v1/userinfo"`
	GitHubClientID            string `env:"GITHUB_CLIENT_ID"`
	GitHubClientSecret        string `env:"GITHUB_CLIENT_SECRET"`
	GitHubAuthURL             string `env:"GITHUB_AUTH_URL" envDefault:"https://github.com/login/oauth/authorize"`
	GitHubTokenURL            string `env:"GITHUB_TOKEN_URL" envDefault:"https://github.com/login/oauth/access_token"`
	GitHubAPIURL              string `env:"GITHUB_API_URL" envDefault:"https://api.github.com"`

	// Email over SMTP (shared/mailer). Without SMTP_URL nothing is sent and the
	// endpoints that need a mail answer as Better Auth does when its send
	// callbacks are not configured.
	SMTPURL   string `env:"SMTP_URL"`
	EmailFrom string `env:"EMAIL_FROM" envDefault:"Ari <no-reply@localhost>"`
	// Mails an hour per recipient address and per client IP.
	RateLimitEmailPerAddress int `env:"RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR" envDefault:"5"`
	RateLimitEmailPerIP      int `env:"RATE_LIMIT_EMAIL_PER_IP_PER_HOUR" envDefault:"20"`
	// Account exports (GET /api/account/export) an hour per user.
	RateLimitExportPerHour int `env:"RATE_LIMIT_EXPORT_PER_HOUR" envDefault:"2"`

	// Per-user limits on what fans out to other people, counted in Redis so
	// every instance and Lambda shares them: send_message frames on the
	// relay, open client sockets, groups created and members added.
	RateLimitSend      int `env:"RATE_LIMIT_SEND_PER_MINUTE" envDefault:"60"`
	RateLimitSendBurst int `env:"RATE_LIMIT_SEND_BURST" envDefault:"20"`
	// app_user_action and app_state_event frames per user (each is a row).
	RateLimitAppEvents      int `env:"RATE_LIMIT_APP_EVENTS_PER_MINUTE" envDefault:"120"`
	RateLimitAppEventsBurst int `env:"RATE_LIMIT_APP_EVENTS_BURST" envDefault:"40"`
	RateLimitGroups         int `env:"RATE_LIMIT_GROUPS_PER_HOUR" envDefault:"30"`
	RateLimitGroupMembers   int `env:"RATE_LIMIT_GROUP_MEMBERS_PER_HOUR" envDefault:"300"`
	RelayMaxSocketsPerUser  int `env:"RELAY_MAX_SOCKETS_PER_USER" envDefault:"20"`
	// Community channels one client socket may subscribe to at once.
	RelayMaxChannelsPerSocket int `env:"RELAY_MAX_CHANNELS_PER_SOCKET" envDefault:"50"`
	// Per agent, shared by the relay's agent_message frames and REST's
	// POST /api/agent/messages: messages an agent starts a minute.
	RateLimitAgentMessages int `env:"RATE_LIMIT_AGENT_MESSAGES_PER_MINUTE" envDefault:"30"`

	R2AccountID      string        `env:"R2_ACCOUNT_ID"`
	S3Endpoint       string        `env:"S3_ENDPOINT"`
	S3Region         string        `env:"S3_REGION" envDefault:"auto"`
	S3AccessKeyID    string        `env:"S3_ACCESS_KEY_ID"`
	S3SecretKey      string        `env:"S3_SECRET_ACCESS_KEY"`
	S3Bucket         string        `env:"S3_BUCKET"`
	S3PublicURL      string        `env:"S3_PUBLIC_URL"`
	S3ForcePathStyle bool          `env:"S3_FORCE_PATH_STYLE" envDefault:"false"`
	FileURLTTL       time.Duration `env:"FILE_URL_TTL" envDefault:"1h"`
	UploadDir        string        `env:"UPLOAD_DIR" envDefault:".local/uploads"`
	MaxUploadBytes   int64         `env:"MAX_UPLOAD_BYTES" envDefault:"26214400"`
	OrphanUploadTTL  time.Duration `env:"ORPHAN_UPLOAD_TTL" envDefault:"24h"`

	VAPIDPublicKey  string `env:"VAPID_PUBLIC_KEY"`
	VAPIDPrivateKey string `env:"VAPID_PRIVATE_KEY"`
	VAPIDSubject    string `env:"VAPID_SUBJECT" envDefault:"admin@localhost"`

	RelayInstanceID        string        `env:"RELAY_INSTANCE_ID"`
	AgentFirstChunkTimeout time.Duration `env:"RELAY_AGENT_FIRST_CHUNK_TIMEOUT" envDefault:"5m"`
	AgentIdleTimeout       time.Duration `env:"RELAY_AGENT_IDLE_TIMEOUT" envDefault:"60s"`
	// InputRequestTTL is how long an agent's question or approval stays
	// open before it expires unanswered (the agent then gets input_timeout).
	InputRequestTTL time.Duration `env:"INPUT_REQUEST_TTL" envDefault:"24h"`
	// AppToolTimeout is how long an agent's tool call waits for the app's
	// answer before the agent gets an error result (code timeout).
	AppToolTimeout time.Duration `env:"APP_TOOL_TIMEOUT" envDefault:"30s"`
	// A2AAllowPrivateNetworks lets A2A calls reach loopback and private
	// addresses; off, agent owners cannot point the relay into its own network.
	A2AAllowPrivateNetworks bool `env:"A2A_ALLOW_PRIVATE_NETWORKS" envDefault:"false"`
	// The relay's timing knobs: production keeps the defaults (shared/kv's and
	// relay/protocol's); tests shorten them to exercise expiry and timeouts.
	RelayActiveTTL     time.Duration `env:"RELAY_ACTIVE_TTL" envDefault:"90s"`
	RelaySweepInterval time.Duration `env:"RELAY_SWEEP_INTERVAL" envDefault:"2s"`
	// RelayChunkLinger is how long an agent socket's chunks may gather
	// before they are appended to their buffers when no other instance
	// receives them (relay/stream/feed.go); 0: never wait.
	RelayChunkLinger      time.Duration `env:"RELAY_CHUNK_LINGER" envDefault:"10ms"`
	RelayAgentAuthTimeout time.Duration `env:"RELAY_AGENT_AUTH_TIMEOUT" envDefault:"10s"`
	RelayIdleTimeout      time.Duration `env:"RELAY_IDLE_TIMEOUT" envDefault:"45s"`
	RelayPingInterval     time.Duration `env:"RELAY_PING_INTERVAL" envDefault:"20s"`
	RelaySendQueue        int           `env:"RELAY_SEND_QUEUE" envDefault:"512"`
	RelayHost             string        `env:"RELAY_HOST" envDefault:""`
	// RelayPprofAddr, when set, serves net/http/pprof (with block and mutex
	// profiles sampled) on a listener of its own at this host:port, off the
	// public port: for profiling under load, never for the internet.
	RelayPprofAddr string `env:"RELAY_PPROF_ADDR" envDefault:""`

	// Prometheus exposition at /metrics on the relay and the shim: on by
	// default locally; under ARI_ENV=production only with METRICS_TOKEN,
	// which every scrape then presents as a bearer token.
	MetricsEnabled bool   `env:"METRICS_ENABLED" envDefault:"true"`
	MetricsToken   string `env:"METRICS_TOKEN"`

	// AdminUserIDs may use the operator's routes (POST
	// /api/admin/coins/grants); empty: nobody may.
	AdminUserIDs []string `env:"ADMIN_USER_IDS" envSeparator:"," envDefault:""`
}

// Production reports whether ARI_ENV asks for production rules.
func (c Config) Production() bool { return c.Env == "production" }

// MetricsServed reports whether /metrics is served: METRICS_ENABLED, and in
// production only behind METRICS_TOKEN (the figures name routes and load).
func (c Config) MetricsServed() bool {
	return c.MetricsEnabled && (!c.Production() || c.MetricsToken != "")
}

// S3Configured reports whether object storage is configured; otherwise uploads
// go to the local directory.
func (c Config) S3Configured() bool {
	return c.S3Bucket != "" && c.S3AccessKeyID != "" && c.S3SecretKey != "" && (c.S3Endpoint != "" || c.R2AccountID != "")
}

// Load reads the process environment. In local mode a .env file in the working
// directory is read first; variables already set in the environment win.
func Load() (Config, error) {
	local := os.Getenv("ARI_ENV") == "" || os.Getenv("ARI_ENV") == "local"
	if local {
		if err := godotenv.Load(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Config{}, fmt.Errorf("config: reading .env: %w", err)
		}
	}
	return FromMap(envMap())
}

// FromMap parses a given environment (tests use it; Load uses the real one).
func FromMap(environ map[string]string) (Config, error) {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: environ}); err != nil {
		return Config{}, namedError(err)
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func envMap() map[string]string {
	m := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			m[k] = v
		}
	}
	return m
}

func (c Config) validate() error {
	var errs []string
	bad := func(name, why string) { errs = append(errs, name+": "+why) }
	switch c.Env {
	case "local", "test", "production":
	default:
		bad("ARI_ENV", "must be local, test or production")
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error")
	}
	for name, p := range map[string]int{"PORT": c.Port, "RELAY_PORT": c.RelayPort} {
		if p < 1 || p > 65535 {
			bad(name, "must be a TCP port (1-65535)")
		}
	}
	checkURL := func(name, v string, schemes ...string) {
		if v == "" {
			return
		}
		u, err := url.Parse(v)
		if err != nil || u.Host == "" {
			bad(name, "must be an absolute URL")
			return
		}
		for _, s := range schemes {
			if u.Scheme == s {
				return
			}
		}
		bad(name, "scheme must be one of "+strings.Join(schemes, ", "))
	}
	checkURL("DATABASE_URL", c.DatabaseURL, "postgres", "postgresql")
	checkURL("REDIS_URL", c.RedisURL, "redis", "rediss")
	checkURL("BETTER_AUTH_URL", c.BaseURL, "http", "https")
	checkURL("RELAY_URL", c.RelayURL, "http", "https")
	checkURL("S3_ENDPOINT", c.S3Endpoint, "http", "https")
	checkURL("SMTP_URL", c.SMTPURL, "smtp", "smtps")
	if _, err := mail.ParseAddress(c.EmailFrom); err != nil {
		bad("EMAIL_FROM", "must be an address like \"Ari <no-reply@example.com>\"")
	}
	checkURL("S3_PUBLIC_URL", c.S3PublicURL, "http", "https")
	for _, o := range c.TrustedOrigins {
		checkURL("BETTER_AUTH_TRUSTED_ORIGINS", strings.TrimSpace(o), "http", "https")
	}
	for _, o := range c.WebAppOrigins {
		checkURL("WEB_APP_ORIGINS", strings.TrimSpace(o), "http", "https")
		if u, err := url.Parse(strings.TrimSpace(o)); err == nil && (u.Path != "" || u.RawQuery != "" || u.User != nil) {
			bad("WEB_APP_ORIGINS", "each must be an origin (scheme://host[:port]), nothing after it")
		}
	}
	if c.DBMaxConns < 1 {
		bad("DB_MAX_CONNS", "must be at least 1")
	}
	if c.DBConnectTimeout <= 0 {
		bad("DB_CONNECT_TIMEOUT", "must be positive")
	}
	if len(c.AuthSecret) < 32 {
		bad("BETTER_AUTH_SECRET", "must be at least 32 characters")
	}
	if c.Production() && c.AuthSecret == DevSecret {
		bad("BETTER_AUTH_SECRET", "must be set in production (the local default is public)")
	}
	if c.Production() && c.A2AAllowPrivateNetworks {
		bad("A2A_ALLOW_PRIVATE_NETWORKS", "must not be true when ARI_ENV=production (agent owners could point the relay into its own network)")
	}
	switch c.PasswordAlgorithm {
	case "scrypt", "argon2id":
	default:
		bad("AUTH_PASSWORD_ALGORITHM", "must be scrypt or argon2id")
	}
	if c.DeleteAccountConfirmation && c.SMTPURL == "" {
		bad("AUTH_DELETE_ACCOUNT_CONFIRMATION", "needs SMTP_URL (the confirmation link is mailed)")
	}
	if c.RequireEmailVerification && c.SMTPURL == "" {
		bad("AUTH_REQUIRE_EMAIL_VERIFICATION", "needs SMTP_URL (nobody could ever verify an address)")
	}
	if c.SessionExpiresIn < time.Hour {
		bad("AUTH_SESSION_EXPIRES_IN", "must be at least 1h")
	}
	if c.SessionUpdateAge <= 0 || c.SessionUpdateAge > c.SessionExpiresIn {
		bad("AUTH_SESSION_UPDATE_AGE", "must be positive and at most AUTH_SESSION_EXPIRES_IN")
	}
	if c.RateLimitAuth < 1 {
		bad("RATE_LIMIT_AUTH_PER_MINUTE", "must be at least 1")
	}
	if c.RateLimitAPI < 1 {
		bad("RATE_LIMIT_API_PER_MINUTE", "must be at least 1")
	}
	for name, v := range map[string]int{"RATE_LIMIT_SEND_PER_MINUTE": c.RateLimitSend, "RATE_LIMIT_SEND_BURST": c.RateLimitSendBurst,
		"RATE_LIMIT_GROUPS_PER_HOUR": c.RateLimitGroups, "RATE_LIMIT_GROUP_MEMBERS_PER_HOUR": c.RateLimitGroupMembers,
		"RELAY_MAX_SOCKETS_PER_USER":            c.RelayMaxSocketsPerUser,
		"RELAY_MAX_CHANNELS_PER_SOCKET":         c.RelayMaxChannelsPerSocket,
		"RATE_LIMIT_EMAIL_PER_ADDRESS_PER_HOUR": c.RateLimitEmailPerAddress, "RATE_LIMIT_EMAIL_PER_IP_PER_HOUR": c.RateLimitEmailPerIP,
		"RATE_LIMIT_AGENT_MESSAGES_PER_MINUTE": c.RateLimitAgentMessages, "RATE_LIMIT_EXPORT_PER_HOUR": c.RateLimitExportPerHour,
		"RATE_LIMIT_APP_EVENTS_PER_MINUTE": c.RateLimitAppEvents, "RATE_LIMIT_APP_EVENTS_BURST": c.RateLimitAppEventsBurst} {
		if v < 1 {
			bad(name, "must be at least 1")
		}
	}
	if c.MaxUploadBytes < 1 {
		bad("MAX_UPLOAD_BYTES", "must be positive")
	}
	if (c.VAPIDPublicKey == "") != (c.VAPIDPrivateKey == "") {
		bad("VAPID_PRIVATE_KEY", "VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set together")
	}
	if c.InputRequestTTL < time.Second {
		bad("INPUT_REQUEST_TTL", "must be at least 1s")
	}
	if c.AppToolTimeout < 100*time.Millisecond {
		bad("APP_TOOL_TIMEOUT", "must be at least 100ms")
	}
	if c.AgentIdleTimeout <= 0 {
		bad("RELAY_AGENT_IDLE_TIMEOUT", "must be positive")
	}
	if c.AgentFirstChunkTimeout <= 0 {
		bad("RELAY_AGENT_FIRST_CHUNK_TIMEOUT", "must be positive")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"RELAY_ACTIVE_TTL", c.RelayActiveTTL}, {"RELAY_SWEEP_INTERVAL", c.RelaySweepInterval},
		{"RELAY_AGENT_AUTH_TIMEOUT", c.RelayAgentAuthTimeout}, {"RELAY_IDLE_TIMEOUT", c.RelayIdleTimeout},
		{"RELAY_PING_INTERVAL", c.RelayPingInterval}} {
		if d.v < 10*time.Millisecond {
			bad(d.name, "must be at least 10ms")
		}
	}
	if c.RelayChunkLinger < 0 || c.RelayChunkLinger > time.Second {
		bad("RELAY_CHUNK_LINGER", "must be between 0 and 1s")
	}
	if c.MetricsToken != "" && (len(c.MetricsToken) < 32 || !printableASCII(c.MetricsToken)) {
		bad("METRICS_TOKEN", "must be at least 32 printable ASCII characters without spaces")
	}
	if c.RelaySendQueue < 1 {
		bad("RELAY_SEND_QUEUE", "must be at least 1")
	}
	if c.RelayPprofAddr != "" {
		if _, port, err := net.SplitHostPort(c.RelayPprofAddr); err != nil || port == "" {
			bad("RELAY_PPROF_ADDR", "must be host:port, for example 127.0.0.1:6060")
		}
	}
	if len(errs) > 0 {
		return errors.New("config: " + strings.Join(errs, "; "))
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// namedError rewrites the library's errors, which name Go fields, so they name
// the environment variable a person has to fix.
func namedError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return fmt.Errorf("config: %w", err)
	}
	t := reflect.TypeOf(Config{})
	var parts []string
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			name := pe.Name
			if f, ok := t.FieldByName(pe.Name); ok {
				name = strings.Split(f.Tag.Get("env"), ",")[0]
			}
			parts = append(parts, fmt.Sprintf("%s: invalid value (%v)", name, pe.Err))
			continue
		}
		parts = append(parts, e.Error())
	}
	return errors.New("config: " + strings.Join(parts, "; "))
}
