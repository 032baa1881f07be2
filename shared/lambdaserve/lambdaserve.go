// Package lambdaserve runs a function under the AWS Lambda runtime. Only the
// lambda mains (functions/<name>/lambda) import it, so the shim, the relay
// and every importable package link no Lambda code; a test in local/ checks
// the import graph.
package lambdaserve

import (
	"context"
	"errors"
	"net/http"

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
