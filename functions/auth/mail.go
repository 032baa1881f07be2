package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/ari"
	"github.com/ari-chat/ari-server/shared/mailer"
	"github.com/ari-chat/ari-server/shared/ratelimit"
	"github.com/golang-jwt/jwt/v5"
)

// Better Auth's default lifetimes: emailVerification.expiresIn and
// emailAndPassword.resetPasswordTokenExpiresIn, both one hour.
const (
	verifyTokenTTL = time.Hour
	resetTokenTTL  = time.Hour
)

// mailIPLimit spends one of the client address's mails for the hour; over
// the limit the request is refused before anything is looked up.
func (h *handler) mailIPLimit(r *http.Request) error {
	return h.limit(r.Context(), h.limMailIP, h.clientIP(r))
}

// sendMail renders kind for to and queues it. The per-address limit is
// applied here, silently: the answer of an endpoint that mails must not
// depend on whether the address has an account, so a mail over the limit is
// dropped and logged, never answered with an error. A full queue is logged
// too; the caller's answer stays the same.
func (h *handler) sendMail(ctx context.Context, kind mailer.Kind, to string, d mailer.Data) {
	if !h.limiter.Allow(ctx, h.limMailAddress, ratelimit.Hash(strings.ToLower(to))).Allowed {
		slog.WarnContext(ctx, "mail not sent: too many to this address this hour", "kind", kind)
		return
	}
	msg, err := mailer.Render(kind, to, d)
	if err == nil {
		err = h.mailer.Send(msg)
	}
	if err != nil {
		slog.ErrorContext(ctx, "mail not queued", "kind", kind, "err", err)
	}
}

// authURL is an absolute link to one of our /api/auth endpoints, as Better
// Auth builds its links from baseURL + basePath.
func (h *handler) authURL(path string) string {
	return strings.TrimRight(h.cfg.BaseURL, "/") + "/api/auth" + path
}

// words says a lifetime in a mail ("1 hour", "24 hours", "10 minutes").
func words(d time.Duration) string {
	switch {
	case d%time.Hour == 0 && d == time.Hour:
		return "1 hour"
	case d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	default:
		return fmt.Sprintf("%d minutes", d/time.Minute)
	}
}

// emailClaims is Better Auth's email verification token: an HS256 JWT
// signed with the secret (no "typ" header), payload {email, updateTo?,
// requestType?, userId?, iat, exp}; both sides mint and accept the same.
type emailClaims struct {
	Email       string `json:"email"`
	UpdateTo    string `json:"updateTo,omitempty"`
	RequestType string `json:"requestType,omitempty"`
	UserID      string `json:"userId,omitempty"`
	jwt.RegisteredClaims
}

func (h *handler) emailToken(c emailClaims, ttl time.Duration) (string, error) {
	t := time.Now()
	c.Email = strings.ToLower(c.Email)
	c.UpdateTo = strings.ToLower(c.UpdateTo)
	c.IssuedAt = jwt.NewNumericDate(t)
	c.ExpiresAt = jwt.NewNumericDate(t.Add(ttl))
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	delete(tok.Header, "typ") // jose's SignJWT writes {"alg":"HS256"} only
	return tok.SignedString([]byte(h.secret))
}

// errTokenExpired and errInvalidToken are verify-email's two token failures.
var (
	errTokenExpired = baErr(401, "TOKEN_EXPIRED", "Token expired")
	errTokenInvalid = baErr(401, "INVALID_TOKEN", "Invalid token")
)

// parseEmailToken checks signature (HS256 only), expiry and the email claim.
func (h *handler) parseEmailToken(raw string) (emailClaims, *apiError) {
	var c emailClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return []byte(h.secret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return c, errTokenExpired
	case err != nil:
		return c, errTokenInvalid
	case !validEmail(c.Email) || (c.UpdateTo != "" && !validEmail(c.UpdateTo)):
		return c, errTokenInvalid
	}
	return c, nil
}

// withQuery adds params to target, relative or absolute, before its
// fragment, keeping its own query as it is (Better Auth's appendQueryParams).
func withQuery(target string, params ...string) string {
	frag := ""
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target, frag = target[:i], target[i:]
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
		if strings.HasSuffix(target, "?") || strings.HasSuffix(target, "&") {
			sep = ""
		}
	}
	var q strings.Builder
	for i := 0; i+1 < len(params); i += 2 {
		if q.Len() > 0 {
			q.WriteByte('&')
		}
		q.WriteString(encodeURIComponent(params[i]) + "=" + encodeURIComponent(params[i+1]))
	}
	return target + sep + q.String() + frag
}

// encodeURIComponent escapes as JavaScript's function of that name does, so
// links we mint read byte for byte like Better Auth's.
func encodeURIComponent(s string) string {
	const keep = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(keep, s[i]) >= 0 {
			b.WriteByte(s[i])
		} else {
			fmt.Fprintf(&b, "%%%02X", s[i])
		}
	}
	return b.String()
}

// redirect answers 302 to target with an empty body, as better-call's
// ctx.redirect does.
func redirect(w http.ResponseWriter, target string) error {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
	return nil
}

// userNamed is the greeting name of a mail (empty when it is only spaces).
func userNamed(u ari.User) string { return strings.TrimSpace(u.Name) }
