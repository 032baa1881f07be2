// Command lambda serves the health function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/health"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("health", func(p *platform.Platform) (http.Handler, error) {
		return health.New(health.DepsFrom(p)), nil
	})
}
