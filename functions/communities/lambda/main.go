// Command lambda serves the communities function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/communities"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("communities", func(p *platform.Platform) (http.Handler, error) {
		d, err := communities.DepsFrom(p)
		if err != nil {
			return nil, err
		}
		return communities.New(d), nil
	})
}
