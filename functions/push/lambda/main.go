// Command lambda serves the push function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/push"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("push", func(p *platform.Platform) (http.Handler, error) {
		return push.New(push.DepsFrom(p)), nil
	})
}
