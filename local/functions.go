package main

import (
	"github.com/ari-chat/ari-server/functions/health"
	"github.com/ari-chat/ari-server/functions/sandbox"
	"github.com/ari-chat/ari-server/shared/httpx"
	"github.com/ari-chat/ari-server/shared/platform"
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
}
