// Package lambdaserve runs a function under the AWS Lambda runtime. Only the
// lambda mains (functions/<name>/lambda) import it, so the shim, the relay
// and every importable package link no Lambda code; a test in local/ checks
// the import graph.
package lambdaserve

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ari-chat/ari-server/shared/platform"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// errReturned is what the mains report if the runtime ever gives control
// back, which it does not do while the function is healthy.
var errReturned = errors.New("lambda runtime returned")

// HTTP serves h as a Lambda behind an HTTP API (payload format 2.0). It
// returns only if the Lambda runtime does.
func HTTP(h http.Handler) error {
	lambda.Start(httpadapter.NewV2(h).ProxyWithContext)
	return errReturned
}

// Scheduled runs job on each invocation (a schedule's event carries nothing
// the job needs). It returns only if the Lambda runtime does.
func Scheduled(job func(context.Context) error) error {
	lambda.Start(job)
	return errReturned
}

// Main is a lambda main's whole body: it opens the platform, builds the
// function's handler with build (behind the platform's middleware) and
// serves it; on failure it logs and exits non-zero.
func Main(name string, build func(p *platform.Platform) (http.Handler, error)) {
	run(name, func(p *platform.Platform) error {
		// No one scrapes a Lambda: its request figures go to its log as
		// CloudWatch Embedded Metric Format lines instead.
		p.Record = nil
		if p.Config.MetricsEnabled {
			p.Record = EMF(os.Stdout, name, time.Now)
		}
		h, err := build(p)
		if err != nil {
			return err
		}
		return HTTP(p.Wrap(h))
	})
}

// MainScheduled is Main for a function its schedule invokes.
func MainScheduled(name string, build func(p *platform.Platform) (func(context.Context) error, error)) {
	run(name, func(p *platform.Platform) error {
		job, err := build(p)
		if err != nil {
			return err
		}
		return Scheduled(job)
	})
}

func run(name string, serve func(p *platform.Platform) error) {
	err := func() error {
		p, err := platform.Open(context.Background())
		if err != nil {
			return err
		}
		defer p.Close()
		return serve(p)
	}()
	slog.Error(name+" function stopped", "err", err)
	os.Exit(1)
}
