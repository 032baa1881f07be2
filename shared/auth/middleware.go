package auth

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/store"
)

// Caller is the signed-in user a request acts for.
type Caller struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	SessionID string `json:"-"`
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerFrom returns the caller Require put in ctx.
func callerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Authenticator finds the caller of a request from the Better Auth session
// cookie or an `Authorization: Bearer <signed or bare token>` header.
type Authenticator struct {
	DB      *store.DB
	Secret  string
	Cookies Cookies
	// Policy, when set, extends a session used through this middleware
	// once per UpdateAge, as get-session does (the row only: the cookie is
	// re-sent by get-session). Zero leaves sessions as they are.
	Policy SessionPolicy
}

// ErrNoSession means the request carries no valid, unexpired session.
var ErrNoSession = &ari.Error{Code: ari.CodeUnauthorized, Message: "sign in to continue"}

// Token extracts the session token from r: the signed cookie first, then the
// bearer header (signed, or the bare 32-character token for non-browser clients).
func (a *Authenticator) Token(r *http.Request) (string, bool) {
	if tok, ok := a.Cookies.SessionTokenFrom(r, a.Secret); ok {
		return tok, true
	}
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	v := strings.TrimSpace(h[7:])
	if !printableASCII(v) {
		// Tokens we issue are printable ASCII (base64url and '.'); anything
		// else is no token at all, refused before it reaches a query.
		return "", false
	}
	if strings.Contains(v, ".") {
		return VerifySignedValue(v, a.Secret)
	}
	if v == "" || len(v) > 128 {
		return "", false
	}
	return v, true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Authenticate returns the caller of r or ErrNoSession.
func (a *Authenticator) Authenticate(r *http.Request) (Caller, error) {
	tok, ok := a.Token(r)
	if !ok {
		return Caller{}, ErrNoSession
	}
	s, u, err := a.DB.SessionByToken(r.Context(), tok)
	if errors.Is(err, store.ErrNotFound) {
		return Caller{}, ErrNoSession
	}
	if err != nil {
		return Caller{}, err
	}
	if a.Policy.ExpiresIn > 0 && a.Policy.NeedsRefresh(s.ExpiresAt.Time, time.Now()) {
		if _, dontRemember := a.Cookies.ReadSigned(r, DontRememberCookie, a.Secret); !dontRemember {
			now := time.Now().UTC().Truncate(time.Millisecond)
			if err := a.DB.ExtendSession(r.Context(), s.ID, now.Add(a.Policy.ExpiresIn), now); err != nil {
				return Caller{}, err
			}
		}
	}
	return Caller{ID: u.ID, Email: u.Email, Name: u.Name, SessionID: s.ID}, nil
}

// Require lets through only requests with a valid session, with the caller in
// the context; others get 401 in the JSON error shape.
func (a *Authenticator) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.Authenticate(r)
		if err != nil {
			httpx.WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c)))
	})
}

// RequestCaller returns the caller Require put in r's context, or
// ErrNoSession when the route was mounted without Require.
func RequestCaller(r *http.Request) (Caller, error) {
	c, ok := callerFrom(r.Context())
	if !ok {
		return c, ErrNoSession
	}
	return c, nil
}
