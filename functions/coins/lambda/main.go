// Command lambda serves the coins function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/coins"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("coins", func(p *platform.Platform) (http.Handler, error) {
		return coins.New(coins.DepsFrom(p)), nil
	})
}
