package groups

import (
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/ratelimit"
)

// DepsFrom builds Deps from the process's platform.
func DepsFrom(p *platform.Platform) Deps {
	return Deps{
		DB:     p.DB,
		Events: events.NewPublisher(p.Redis, p.Keys),
		Auth:   p.Authenticator(),
		// The limits count in Redis, shared by every Lambda and the shim.
		Limiter: ratelimit.New(p.Redis, p.Keys),
		Limits:  LimitsFrom(p.Config.RateLimitGroups, p.Config.RateLimitGroupMembers),
	}
}
