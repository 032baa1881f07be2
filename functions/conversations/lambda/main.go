// Command lambda serves the conversations function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/conversations"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("conversations", func(p *platform.Platform) (http.Handler, error) {
		return conversations.New(conversations.DepsFrom(p)), nil
	})
}
