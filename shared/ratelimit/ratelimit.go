// Package ratelimit holds the request limits every instance and every Lambda
// shares. Counters live in Redis (GCRA, via go-redis/redis_rate), so a client
// that spreads its requests over many instances is limited as one.
package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Rule is one limit: at most Rate events per Period, with bursts up to Burst
// (0 means Rate). Name keeps the counters of different rules apart.
type Rule struct {
	Name   string
	Rate   int
	Period time.Duration
	Burst  int
}

// PerMinute returns a rule allowing n events a minute, all of them at once
// if they come in a burst.
func PerMinute(name string, n int) Rule {
	return Rule{Name: name, Rate: n, Period: time.Minute, Burst: n}
}

// PerHour returns a rule allowing n events an hour, all of them at once if
// they come in a burst.
func PerHour(name string, n int) Rule {
	return Rule{Name: name, Rate: n, Period: time.Hour, Burst: n}
}

func (r Rule) limit() redis_rate.Limit {
	burst := r.Burst
	if burst <= 0 {
		burst = r.Rate
	}
	return redis_rate.Limit{Rate: r.Rate, Burst: burst, Period: r.Period}
}

// Decision is the answer for one event.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until the next event would be allowed; zero
	// when Allowed.
	RetryAfter time.Duration
}

// RetryAfterSeconds rounds RetryAfter up to whole seconds (at least 1), as
// the Retry-After header wants.
func (d Decision) RetryAfterSeconds() int {
	s := int(math.Ceil(d.RetryAfter.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

// RetryAfterMillis rounds RetryAfter up to whole milliseconds (at least 1),
// as the relay's rate_limited frame carries it.
func (d Decision) RetryAfterMillis() int64 {
	ms := (d.RetryAfter + time.Millisecond - 1) / time.Millisecond
	return max(int64(ms), 1)
}

// Limiter checks rules against counters in Redis.
type Limiter struct {
	rl     *redis_rate.Limiter
	prefix string
}

// New returns a Limiter whose counters are named under keys.RateLimit().
// redis_rate puts its own "rate:" in front of every key it touches.
func New(rdb redis.UniversalClient, keys kv.Keys) *Limiter {
	return &Limiter{rl: redis_rate.NewLimiter(rdb), prefix: keys.RateLimit()}
}

// Allow counts one event of rule for id (an IP, a user, an email). When
// Redis cannot be reached the event is allowed and the failure logged: an
// outage of the limiter must not lock every user out.
func (l *Limiter) Allow(ctx context.Context, rule Rule, id string) Decision {
	return l.AllowN(ctx, rule, id, 1)
}

// AllowN counts n events at once (a group created with n members), all or
// none. n above the rule's burst counts as the whole burst, so the largest
// batch is still possible with a full allowance.
func (l *Limiter) AllowN(ctx context.Context, rule Rule, id string, n int) Decision {
	if l == nil || rule.Rate <= 0 || n <= 0 {
		return Decision{Allowed: true}
	}
	lim := rule.limit()
	n = min(n, lim.Burst)
	res, err := l.rl.AllowN(ctx, l.prefix+rule.Name+":"+id, lim, n)
	if err != nil {
		slog.WarnContext(ctx, "rate limit check failed; allowing", "rule", rule.Name, "err", err)
		return Decision{Allowed: true}
	}
	if res.Allowed > 0 {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: res.RetryAfter}
}

// Hash turns an identifier that should not sit in Redis in clear (an email,
// a session token) into a short fixed-length key part.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:12])
}

// ClientIP returns the address a request came from. With trustForwarded (the
// service runs behind a proxy or load balancer that appends the client to
// X-Forwarded-For) it is the last entry of that header, the one the trusted
// proxy wrote; otherwise the connection's peer. Under Lambda the adapter puts
// API Gateway's sourceIp in RemoteAddr.
func ClientIP(r *http.Request, trustForwarded bool) string {
	if trustForwarded {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

// Send is the per-user limit on messages people send, one counter over
// every way of sending (the relay's send_message, channel messages over
// REST): RATE_LIMIT_SEND_PER_MINUTE, with bursts up to RATE_LIMIT_SEND_BURST.
func Send(perMinute, burst int) Rule {
	return Rule{Name: "relay:send", Rate: perMinute, Period: time.Minute, Burst: burst}
}

// AppEvents is the per-user limit on what a person's apps report over the
// relay (app_user_action and app_state_event, each recorded as a row):
// RATE_LIMIT_APP_EVENTS_PER_MINUTE, with bursts up to
// RATE_LIMIT_APP_EVENTS_BURST.
func AppEvents(perMinute, burst int) Rule {
	return Rule{Name: "relay:app-events", Rate: perMinute, Period: time.Minute, Burst: burst}
}
