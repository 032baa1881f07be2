package auth

import (
	sa "github.com/ari-chat/ari-server/shared/auth"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/ratelimit"
)

// DepsFrom builds Deps from the process's platform; the lambda main and the
// local shim both call it.
func DepsFrom(p *platform.Platform) Deps {
	return Deps{Config: p.Config, DB: p.DB, Limiter: ratelimit.New(p.Redis, p.Keys),
		Events: events.NewPublisher(p.Redis, p.Keys), Tickets: sa.Tickets{Redis: p.Redis, Keys: p.Keys},
		Mailer: p.Mailer}
}
