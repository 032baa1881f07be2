package main

import (
	"os/exec"
	"strings"
	"testing"
)

// lambdaModule is the Lambda runtime library; aws-lambda-go-api-proxy pulls it
// in too, so checking for it covers both.
const lambdaModule = "github.com/aws/aws-lambda-go"

// TestOnlyLambdaMainsLinkLambda reads the import graph with `go list -deps`:
// no package outside functions/<name>/lambda and shared/lambdaserve may link
// the Lambda runtime, so the relay, the shim and every importable package stay
// free of it.
func TestOnlyLambdaMainsLinkLambda(t *testing.T) {
	const module = "github.com/ari-chat/ari-server"
	out, err := exec.Command("go", "list", "-deps", module+"/relay", module+"/local").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, lambdaModule) {
			t.Errorf("./relay or ./local links %s", pkg)
		}
	}

	out, err = exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		if strings.HasSuffix(pkg, "/lambda") || pkg == module+"/shared/lambdaserve" {
			continue
		}
		checked++
		for _, dep := range strings.Fields(deps) {
			if strings.HasPrefix(dep, lambdaModule) {
				t.Errorf("%s links %s; only lambda mains may (through shared/lambdaserve)", pkg, dep)
				break
			}
		}
	}
	if checked < 20 {
		t.Fatalf("go list returned only %d packages to check", checked)
	}
}
