// Package auth is the auth function: Better Auth's email and social sign-in
// endpoints under /api/auth, answering with Better Auth 1.7's request and
// response shapes, status codes, cookies and database rows, so a stock Better
// Auth server can share the database and secret with this one, either way.
package auth

import (
	"context"
	"net/http"
	"time"

	"github.com/ari-chat/ari-server/shared/account"
	"github.com/ari-chat/ari-server/shared/ari"
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/config"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/ari-chat/ari-server/shared/storage"
	"github.com/ari-chat/ari-server/shared/store"
	"github.com/redis/go-redis/v9"
)

// Deps is what the auth function needs.
type Deps struct {
	Config config.Config
	DB     *store.DB
	// Limiter enforces the strict sign-in and sign-up limits; nil turns
	// them off (the general API limit lives in platform.Wrap).
	Limiter *ratelimit.Limiter
	// HTTPClient talks to the OAuth providers; nil means a client with a
	// 15-second timeout.
	HTTPClient *http.Client
	// Events tells the relays which sessions ended, so they close those
	// sessions' sockets at once; nil leaves that to the relays' periodic
	// check.
	Events *events.Publisher
	// Tickets issues socket tickets (POST /api/auth/socket-ticket).
	Tickets sa.Tickets
	// Mailer sends verification and reset mails; nil (no SMTP_URL) turns
	// those endpoints off as Better Auth answers without its send callbacks.
	Mailer *mailer.Mailer
	// Redis, Keys and Storage let delete-user erase everything of a user
	// (their offline queue, their uploaded objects) and the export link
	// their uploads; a nil Storage refuses delete-user.
	Redis   redis.UniversalClient
	Keys    kv.Keys
	Storage storage.Store
}

type handler struct {
	cfg     config.Config
	db      *store.DB
	secret  string
	cookies sa.Cookies
	origins sa.Origins
	policy  sa.SessionPolicy
	alg     sa.Algorithm
	limiter *ratelimit.Limiter
	events  *events.Publisher
	tickets sa.Tickets
	mailer  *mailer.Mailer
	eraser  account.Eraser
	storage storage.Store
	// Exports a day per user.
	limExport ratelimit.Rule
	// Mails an hour per client IP and per recipient address.
	limMailIP, limMailAddress ratelimit.Rule
	// Strict limits: per IP and per email, for sign-in and sign-up apart.
	limSignInIP, limSignInEmail, limSignUpIP, limSignUpEmail ratelimit.Rule
	client                                                   *http.Client
	authn                                                    *sa.Authenticator
	oauth                                                    map[string]*provider
}

// New registers the /api/auth routes. They are public: each endpoint that
// needs a session finds it itself and answers 401 in Better Auth's shape.
func New(d Deps) *httpx.Router {
	alg, err := sa.ParseAlgorithm(d.Config.PasswordAlgorithm)
	if err != nil {
		alg = sa.Scrypt // config.Load already refused unknown names
	}
	client := d.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	cookies := sa.NewCookies(d.Config.BaseURL)
	h := &handler{
		cfg:            d.Config,
		db:             d.DB,
		secret:         d.Config.AuthSecret,
		cookies:        cookies,
		origins:        sa.NewOrigins(d.Config.BaseURL, d.Config.TrustedOrigins),
		policy:         sa.SessionPolicy{ExpiresIn: d.Config.SessionExpiresIn, UpdateAge: d.Config.SessionUpdateAge},
		alg:            alg,
		limiter:        d.Limiter,
		events:         d.Events,
		tickets:        d.Tickets,
		mailer:         d.Mailer,
		eraser:         account.Eraser{DB: d.DB, Redis: d.Redis, Keys: d.Keys, Events: d.Events, Storage: d.Storage},
		storage:        d.Storage,
		limExport:      ratelimit.PerHour("account:export", d.Config.RateLimitExportPerHour),
		limMailIP:      ratelimit.PerHour("auth:mail:ip", d.Config.RateLimitEmailPerIP),
		limMailAddress: ratelimit.PerHour("auth:mail:address", d.Config.RateLimitEmailPerAddress),
		limSignInIP:    ratelimit.PerMinute("auth:sign-in:ip", d.Config.RateLimitAuth),
		limSignInEmail: ratelimit.PerMinute("auth:sign-in:email", d.Config.RateLimitAuth),
		limSignUpIP:    ratelimit.PerMinute("auth:sign-up:ip", d.Config.RateLimitAuth),
		limSignUpEmail: ratelimit.PerMinute("auth:sign-up:email", d.Config.RateLimitAuth),
		client:         client,
		authn:          &sa.Authenticator{DB: d.DB, Secret: d.Config.AuthSecret, Cookies: cookies},
	}
	h.oauth = providersFrom(d.Config)

	r := httpx.NewRouter()
	r.Handle("POST /api/auth/sign-up/email", h.endpoint(h.signUpEmail))
	r.Handle("POST /api/auth/sign-in/email", h.endpoint(h.signInEmail))
	r.Handle("POST /api/auth/sign-out", h.endpoint(h.signOut))
	r.Handle("GET /api/auth/get-session", h.endpoint(h.getSession))
	r.Handle("GET /api/auth/list-sessions", h.endpoint(h.listSessions))
	r.Handle("POST /api/auth/revoke-session", h.endpoint(h.revokeSession))
	r.Handle("POST /api/auth/revoke-other-sessions", h.endpoint(h.revokeOtherSessions))
	r.Handle("POST /api/auth/change-password", h.endpoint(h.changePassword))
	r.Handle("POST /api/auth/sign-in/social", h.endpoint(h.signInSocial))
	r.Handle("GET /api/auth/callback/{provider}", h.endpoint(h.callback))
	r.Handle("POST /api/auth/callback/{provider}", h.endpoint(h.callbackPost))
	r.Handle("GET /api/auth/error", h.endpoint(h.errorPage))
	r.Handle("POST /api/auth/socket-ticket", h.endpoint(h.socketTicket))
	r.Handle("POST /api/auth/request-password-reset", h.endpoint(h.requestPasswordReset))
	r.Handle("GET /api/auth/reset-password/{token}", h.endpoint(h.resetPasswordCallback))
	r.Handle("POST /api/auth/reset-password", h.endpoint(h.resetPassword))
	r.Handle("POST /api/auth/send-verification-email", h.endpoint(h.sendVerificationEmail))
	r.Handle("GET /api/auth/verify-email", h.endpoint(h.verifyEmail))
	r.Handle("POST /api/auth/update-user", h.endpoint(h.updateUser))
	r.Handle("POST /api/auth/change-email", h.endpoint(h.changeEmail))
	r.Handle("GET /api/auth/list-accounts", h.endpoint(h.listAccounts))
	r.Handle("POST /api/auth/unlink-account", h.endpoint(h.unlinkAccount))
	r.Handle("POST /api/auth/link-social", h.endpoint(h.linkSocial))
	r.Handle("POST /api/auth/delete-user", h.endpoint(h.deleteUser))
	r.Handle("GET /api/auth/delete-user/callback", h.endpoint(h.deleteUserCallback))
	// The account as a whole, outside Better Auth's paths: ari's error shape.
	r.With(h.authn.Require).HandleFunc("GET /api/account/export", h.export)
	// Anything else under /api/auth answers as Better Auth does: an unknown
	// route, a wrong method or a trailing slash is 404 with an empty body, and
	// get-session refuses POST with 405.
	r.Handle("POST /api/auth/get-session", emptyStatus(http.StatusMethodNotAllowed))
	r.Handle("/api/auth/{rest...}", emptyStatus(http.StatusNotFound))
	return r
}

func emptyStatus(code int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) })
}

// endpoint adapts fn: Better Auth's origin check first (a cookie-carrying
// non-GET request must come from a trusted origin), then fn, with errors in
// Better Auth's shape.
func (h *handler) endpoint(fn handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := h.origins.CheckRequest(r); p != nil {
			render(w, r, baErr(http.StatusForbidden, p.Code, p.Message))
			return
		}
		if e := httpx.CheckRequest(r); e != nil {
			render(w, r, requestProblem(r, e))
			return
		}
		if err := fn(w, r); err != nil {
			render(w, r, err)
		}
	})
}

// limit counts one event of rule for id and refuses it when over the limit.
func (h *handler) limit(ctx context.Context, rule ratelimit.Rule, id string) error {
	d := h.limiter.Allow(ctx, rule, id)
	if d.Allowed {
		return nil
	}
	return tooManyRequests(d.RetryAfterSeconds())
}

func (h *handler) clientIP(r *http.Request) string {
	return ratelimit.ClientIP(r, h.cfg.TrustProxyHeaders)
}

// userJSON and sessionJSON are Better Auth's output shapes, keys in the order
// Better Auth writes them. Passwords and OAuth tokens are never included.
type userJSON struct {
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"emailVerified"`
	Image         *string  `json:"image"`
	CreatedAt     ari.Time `json:"createdAt"`
	UpdatedAt     ari.Time `json:"updatedAt"`
	ID            string   `json:"id"`
}

type sessionJSON struct {
	ExpiresAt ari.Time `json:"expiresAt"`
	Token     string   `json:"token"`
	CreatedAt ari.Time `json:"createdAt"`
	UpdatedAt ari.Time `json:"updatedAt"`
	IPAddress *string  `json:"ipAddress"`
	UserAgent *string  `json:"userAgent"`
	UserID    string   `json:"userId"`
	ID        string   `json:"id"`
}

func toUserJSON(u ari.User) userJSON {
	return userJSON{Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Image: u.Image,
		CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, ID: u.ID}
}

func toSessionJSON(s ari.Session) sessionJSON {
	return sessionJSON{ExpiresAt: s.ExpiresAt, Token: s.Token, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt,
		IPAddress: s.IPAddress, UserAgent: s.UserAgent, UserID: s.UserID, ID: s.ID}
}

// now is the time as Better Auth stores it: UTC with milliseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }
