// Command lambda serves the groups function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/groups"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("groups", func(p *platform.Platform) (http.Handler, error) {
		return groups.New(groups.DepsFrom(p)), nil
	})
}
