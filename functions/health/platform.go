package health

import "github.com/ari-chat/ari-server/shared/platform"

// DepsFrom builds Deps from the process's platform: its Postgres and Redis
// checks.
func DepsFrom(p *platform.Platform) Deps {
	return p.HealthChecks()
}
