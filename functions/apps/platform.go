package apps

import (
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/platform"
)

// DepsFrom builds Deps from the process's platform; the lambda main and the
// local shim both call it.
func DepsFrom(p *platform.Platform) Deps {
	return Deps{DB: p.DB, Events: events.NewPublisher(p.Redis, p.Keys), Auth: p.Authenticator()}
}
