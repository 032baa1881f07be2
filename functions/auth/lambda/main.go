// Command lambda serves the auth function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/auth"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("auth", func(p *platform.Platform) (http.Handler, error) {
		return auth.New(auth.DepsFrom(p)), nil
	})
}
