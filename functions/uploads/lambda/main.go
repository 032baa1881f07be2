// Command lambda serves the uploads function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/uploads"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("uploads", func(p *platform.Platform) (http.Handler, error) {
		d, err := uploads.DepsFrom(p)
		if err != nil {
			return nil, err
		}
		return uploads.New(d), nil
	})
}
