// Command lambda serves the apps function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/apps"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("apps", func(p *platform.Platform) (http.Handler, error) {
		return apps.New(apps.DepsFrom(p)), nil
	})
}
