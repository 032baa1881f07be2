// Command lambda runs the orphaned-upload cleanup when its schedule invokes it.
package main

import (
	"context"

	"github.com/ari-chat/ari-server/functions/uploadscleanup"
	"github.com/ari-chat/ari-server/shared/lambdaserve"
	"github.com/ari-chat/ari-server/shared/platform"
)

func main() {
	lambdaserve.MainScheduled("uploadscleanup", func(p *platform.Platform) (func(context.Context) error, error) {
		d, err := uploadscleanup.DepsFrom(p)
		if err != nil {
			return nil, err
		}
		return d.Sweep, nil
	})
}
