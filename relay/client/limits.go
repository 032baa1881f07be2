package client

import (
	"context"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ari-chat/ari-server/relay/protocol"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/kv"
	"github.com/ari-chat/ari-server/shared/metrics"
)

// Per-user limits of client sockets, shared by every relay instance through
// Redis: how many sockets a user may hold open (kv.Keys.UserSockets, a sorted
// set scored by expiry), how fast they may send (Deps.Limiter), and the
// instant end of sockets whose session was revoked (events.SessionsRevoked).

// claimScript admits one socket into a user's set unless the user already
// holds max live ones: expired entries (a killed instance's) are dropped
// first, and a socket already in the set is only refreshed. Atomic, so two
// sockets opened at once on two instances cannot both take the last place.
// KEYS[1] the set; ARGV: socket name, now (Unix ms), ttl (ms), max.
var claimScript = redis.NewScript(`
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// claimSocket records the socket in its user's set and reports whether it
// is within the cap. When Redis cannot answer the socket is admitted (and
// the failure logged): an outage of the counter must not lock users out,
// and the socket's subscription fails on its own if Redis is really gone.
func (ss *session) claimSocket(ctx context.Context) bool {
	d := ss.s.d
	if d.MaxSockets <= 0 {
		return true
	}
	ok, err := claimScript.Run(ctx, d.Redis, []string{d.Keys.UserSockets(ss.user.ID)}, ss.name,
		time.Now().UnixMilli(), kv.PresenceTTL.Milliseconds(), d.MaxSockets).Int()
	if err != nil {
		d.Log.Warn("relay socket cap check failed; admitting", "user", ss.user.ID, "err", err)
		return true
	}
	return ok == 1
}

// releaseSocket drops the socket from its user's set.
func (ss *session) releaseSocket(ctx context.Context) {
	d := ss.s.d
	if d.MaxSockets <= 0 {
		return
	}
	if err := d.Redis.ZRem(ctx, d.Keys.UserSockets(ss.user.ID), ss.name).Err(); err != nil {
		d.Log.Warn("relay socket release", "user", ss.user.ID, "err", err)
	}
}

// refreshSockets pushes the expiry of every listed socket's entry forward,
// in one round trip: as long as this instance beats, its sockets count.
func (s *Sessions) refreshSockets(ctx context.Context, list []*session) {
	if s.d.MaxSockets <= 0 || len(list) == 0 {
		return
	}
	until := float64(time.Now().Add(kv.PresenceTTL).UnixMilli())
	pipe := s.d.Redis.Pipeline()
	for _, ss := range list {
		key := s.d.Keys.UserSockets(ss.user.ID)
		pipe.ZAdd(ctx, key, redis.Z{Score: until, Member: ss.name})
		pipe.PExpire(ctx, key, kv.PresenceTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		s.d.Log.Warn("relay socket refresh", "sockets", len(list), "err", err)
	}
}

// allowSend counts one send_message of the user against the shared limit;
// over it, the frame is answered with rate_limited and false is returned.
// It runs before anything touches Postgres, so a flood costs one Redis
// round trip per frame and stores nothing.
func (ss *session) allowSend(ctx context.Context, ref string) bool {
	d := ss.s.d
	dec := d.Limiter.Allow(ctx, d.SendRule, ss.user.ID)
	if dec.Allowed {
		return true
	}
	metrics.FrameLimited(protocol.TypeSendMessage)
	ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeRateLimited, Ref: ref, RetryAfterMs: dec.RetryAfterMillis(),
		Message: "too many messages; nothing was stored; send again after retryAfterMs"})
	return false
}

// allowAppEvent counts one app_user_action or app_state_event of the user
// against its limit, before anything is checked or recorded; over it, the
// frame is answered with rate_limited and false is returned.
func (ss *session) allowAppEvent(ctx context.Context, typ, ref string) bool {
	d := ss.s.d
	dec := d.Limiter.Allow(ctx, d.AppEventRule, ss.user.ID)
	if dec.Allowed {
		return true
	}
	metrics.FrameLimited(typ)
	ss.c.SendFrame(&protocol.ErrorFrame{Code: protocol.CodeRateLimited, Ref: ref, RetryAfterMs: dec.RetryAfterMillis(),
		Message: "too many app actions and events; nothing was recorded; send again after retryAfterMs"})
	return false
}

// revokedBy reads a payload of the user's channel: true when it is a
// sessions_revoked notice (which is never forwarded to a socket); then, if
// it names this socket's session, the socket is closed with 4001 at once.
func (ss *session) revokedBy(frame []byte) bool {
	ids, ok := events.RevokedSessions(frame)
	if !ok {
		return false
	}
	if slices.Contains(ids, ss.user.SessionID) {
		ss.revoked.Store(true)
		ss.c.Close(protocol.CloseUnauthorized)
	}
	return true
}
