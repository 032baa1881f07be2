// Command lambda serves the agents function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/agents"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("agents", func(p *platform.Platform) (http.Handler, error) {
		return agents.New(agents.DepsFrom(p)), nil
	})
}
