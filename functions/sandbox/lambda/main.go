// Command lambda serves the sandbox function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/sandbox"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("sandbox", func(p *platform.Platform) (http.Handler, error) {
		return sandbox.New(sandbox.DepsFrom(p)), nil
	})
}
