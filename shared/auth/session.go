package auth

import "time"

// Better Auth's session defaults (create-context.mjs). Ari's own default
// lifetime is longer (config AUTH_SESSION_EXPIRES_IN, 30 days).
const (
	DefaultExpiresIn = 7 * 24 * time.Hour
	DefaultUpdateAge = 24 * time.Hour
	// ShortSessionLifetime is the row lifetime when rememberMe is false.
	ShortSessionLifetime = 24 * time.Hour
)

// SessionPolicy is how long sessions live and how often use extends them.
type SessionPolicy struct {
	// ExpiresIn is a new (or refreshed) session's lifetime.
	ExpiresIn time.Duration
	// UpdateAge is how long after the last refresh a use refreshes again.
	UpdateAge time.Duration
}

// Lifetime is the lifetime of a new session: ExpiresIn, or one day when the
// user asked not to be remembered.
func (p SessionPolicy) Lifetime(rememberMe bool) time.Duration {
	if !rememberMe {
		return ShortSessionLifetime
	}
	return p.ExpiresIn
}

// NeedsRefresh applies Better Auth's rule: a session whose expiry is closer
// than ExpiresIn-UpdateAge (that is, last refreshed at least UpdateAge ago)
// is extended on use. Both servers apply the same rule to the same row, so
// at most one of them refreshes it per UpdateAge.
func (p SessionPolicy) NeedsRefresh(expiresAt, now time.Time) bool {
	return !expiresAt.Add(-p.ExpiresIn).Add(p.UpdateAge).After(now)
}
