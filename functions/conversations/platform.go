package conversations

import (
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/inputs"
	"github.com/ari-chat/ari-server/shared/platform"
)

// DepsFrom builds Deps from the process's platform; the lambda main and the
// local shim both call it.
func DepsFrom(p *platform.Platform) Deps {
	pub := events.NewPublisher(p.Redis, p.Keys)
	return Deps{
		DB: p.DB, Redis: p.Redis, Keys: p.Keys,
		Auth:   p.Authenticator(),
		Events: pub,
		Inputs: &inputs.Answerer{DB: p.DB, Events: pub, Log: p.Log},
	}
}
