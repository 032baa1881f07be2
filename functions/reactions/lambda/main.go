// Command lambda serves the reactions function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/reactions"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("reactions", func(p *platform.Platform) (http.Handler, error) {
		return reactions.New(reactions.DepsFrom(p)), nil
	})
}
