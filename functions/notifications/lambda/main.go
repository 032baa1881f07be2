// Command lambda serves the notifications function on AWS Lambda.
package main

import (
	"net/http"

	"github.com/ari-chat/ari-server/functions/notifications"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.Main("notifications", func(p *platform.Platform) (http.Handler, error) {
		return notifications.New(notifications.DepsFrom(p)), nil
	})
}
