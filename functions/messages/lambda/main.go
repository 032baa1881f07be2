// Command lambda serves the messages function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/messages"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("messages", func(p *platform.Platform) (http.Handler, error) {
		d, err := messages.DepsFrom(p)
		if err != nil {
			return nil, err
		}
		return messages.New(d), nil
	})
}
