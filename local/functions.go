package main

import (
	"github.com/ari-chat/ari-server/functions/agents"
	authfn "github.com/ari-chat/ari-server/functions/auth"
	"github.com/ari-chat/ari-server/functions/conversations"
	"github.com/ari-chat/ari-server/functions/docs"
	"github.com/ari-chat/ari-server/functions/groups"
	"github.com/ari-chat/ari-server/functions/health"
	"github.com/ari-chat/ari-server/functions/messages"
	"github.com/ari-chat/ari-server/functions/notifications"
	"github.com/ari-chat/ari-server/functions/push"
	"github.com/ari-chat/ari-server/functions/reactions"
	"github.com/ari-chat/ari-server/functions/sandbox"
	"github.com/ari-chat/ari-server/functions/uploads"
	"github.com/ari-chat/ari-server/functions/uploadscleanup"
	"github.com/ari-chat/ari-server/shared/events"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
	"github.com/ari-chat/ari-server/shared/ratelimit"
)

// function is one functions/<name> package as the shim mounts it. Name matches
// the folder and the SAM resource (<Name>Function) in template.yaml.
type function struct {
	Name  string
	Build func(p *platform.Platform) *httpx.Router
}

// functions lists every function; the template test checks it against both
// functions/ and template.yaml.
var functions = []function{
	{"health", func(p *platform.Platform) *httpx.Router { return health.New(p.HealthChecks()) }},
	{"sandbox", func(p *platform.Platform) *httpx.Router { return sandbox.New(sandbox.Deps{}) }},
	{"auth", func(p *platform.Platform) *httpx.Router {
		return authfn.New(authfn.Deps{Config: p.Config, DB: p.DB, Limiter: ratelimit.New(p.Redis, p.Keys),
			Events: events.NewPublisher(p.Redis, p.Keys)})
	}},
	{"agents", func(p *platform.Platform) *httpx.Router {
		return agents.New(agents.Deps{DB: p.DB, Redis: p.Redis, Keys: p.Keys, Auth: p.Authenticator(), Events: events.NewPublisher(p.Redis, p.Keys),
			AllowPrivateNetworks: p.Config.A2AAllowPrivateNetworks})
	}},
	{"conversations", func(p *platform.Platform) *httpx.Router {
		return conversations.New(conversations.Deps{DB: p.DB, Redis: p.Redis, Keys: p.Keys, Auth: p.Authenticator(), Events: events.NewPublisher(p.Redis, p.Keys)})
	}},
	{"messages", messages.ForPlatform},
	{"docs", func(p *platform.Platform) *httpx.Router { return docs.New(docs.Deps{}) }},
	{"groups", func(p *platform.Platform) *httpx.Router { return groups.New(groups.DepsFrom(p)) }},
	{"reactions", func(p *platform.Platform) *httpx.Router { return reactions.New(reactions.DepsFrom(p)) }},
	{"push", func(p *platform.Platform) *httpx.Router {
		return push.New(push.Deps{DB: p.DB, Auth: p.Authenticator(), VAPIDPublicKey: p.Config.VAPIDPublicKey})
	}},
	{"notifications", func(p *platform.Platform) *httpx.Router {
		return notifications.New(notifications.Deps{DB: p.DB, Auth: p.Authenticator()})
	}},
	{"uploads", uploads.ForPlatform},
	{"uploadscleanup", func(p *platform.Platform) *httpx.Router { return uploadscleanup.New() }},
}
