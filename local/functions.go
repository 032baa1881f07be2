package main

import (
	"github.com/ari-chat/ari-server/functions/agents"
	"github.com/ari-chat/ari-server/functions/apps"
	authfn "github.com/ari-chat/ari-server/functions/auth"
	"github.com/ari-chat/ari-server/functions/coins"
	"github.com/ari-chat/ari-server/functions/communities"
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
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
)

// function is one functions/<name> package as the shim mounts it. Name matches
// the folder and the SAM resource (<Name>Function) in template.yaml. Build
// calls the package's own DepsFrom, as its lambda main does; messages,
// uploads and communities go through ForPlatform, which keeps the shim
// serving when file storage cannot be opened.
type function struct {
	Name  string
	Build func(p *platform.Platform) *httpx.Router
}

// functions lists every function; the template test checks it against both
// functions/ and template.yaml.
var functions = []function{
	{"health", func(p *platform.Platform) *httpx.Router { return health.New(health.DepsFrom(p)) }},
	{"sandbox", func(p *platform.Platform) *httpx.Router { return sandbox.New(sandbox.DepsFrom(p)) }},
	{"auth", func(p *platform.Platform) *httpx.Router { return authfn.New(authfn.DepsFrom(p)) }},
	{"agents", func(p *platform.Platform) *httpx.Router { return agents.New(agents.DepsFrom(p)) }},
	{"conversations", func(p *platform.Platform) *httpx.Router { return conversations.New(conversations.DepsFrom(p)) }},
	{"messages", messages.ForPlatform},
	{"docs", func(p *platform.Platform) *httpx.Router { return docs.New(docs.DepsFrom(p)) }},
	{"groups", func(p *platform.Platform) *httpx.Router { return groups.New(groups.DepsFrom(p)) }},
	{"reactions", func(p *platform.Platform) *httpx.Router { return reactions.New(reactions.DepsFrom(p)) }},
	{"push", func(p *platform.Platform) *httpx.Router { return push.New(push.DepsFrom(p)) }},
	{"notifications", func(p *platform.Platform) *httpx.Router { return notifications.New(notifications.DepsFrom(p)) }},
	{"uploads", uploads.ForPlatform},
	{"communities", communities.ForPlatform},
	{"apps", func(p *platform.Platform) *httpx.Router { return apps.New(apps.DepsFrom(p)) }},
	{"coins", func(p *platform.Platform) *httpx.Router { return coins.New(coins.DepsFrom(p)) }},
	// Run by its schedule (local/cleanup here), so it serves no routes.
	{"uploadscleanup", func(*platform.Platform) *httpx.Router { return httpx.NewRouter() }},
}
