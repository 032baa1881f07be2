package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv"
)

// The AWS Lambda Runtime Interface Emulator, from the Go module proxy.
const (
	riePkg     = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
	rieVersion = "v0.0.0-20261030222936-bef5c4ba774d"
)

// lambdaResult is what the emulator returns: the raw Lambda result for an
// HTTP API (payload v2), not an HTTP response.
type lambdaResult struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            string            `json:"body"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
	Cookies         []string          `json:"cookies"`
}

// TestLambdaMatchesShim runs each function's real bootstrap under the emulator
// and checks that an API Gateway v2 event gets the answer the shim gives.
func TestLambdaMatchesShim(t *testing.T) {
	rie := testenv.GoTool(t, riePkg, rieVersion)
	cfg := testenv.Config(t)
	p := testPlatform(t)
	shimHandler, err := shim(p)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"ARI_ENV=test", "DATABASE_URL=" + cfg.DatabaseURL, "REDIS_URL=" + cfg.RedisURL,
		"REDIS_PREFIX=" + cfg.RedisPrefix, "LOG_LEVEL=warn", "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
	}
	cases := []struct {
		function, method, path string
		compareBody            func(t *testing.T, lambda, shim []byte)
	}{
		{"health", "GET", "/health", compareHealth},
		{"sandbox", "GET", "/api/sandbox/anything", compareExact},
		{"sandbox", "POST", "/api/sandbox/run/x", compareExact},
	}
	built := map[string]string{}
	binDir := t.TempDir() // outlives the subtests that share a bootstrap
	for _, tc := range cases {
		t.Run(tc.function+" "+tc.method+" "+tc.path, func(t *testing.T) {
			bootstrap, ok := built[tc.function]
			if !ok {
				bootstrap = buildBootstrap(t, binDir, tc.function)
				built[tc.function] = bootstrap
			}
			got := invoke(t, rie, bootstrap, env, apiGatewayV2Event(tc.method, tc.path))

			rec := httptest.NewRecorder()
			shimHandler.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if got.StatusCode != rec.Code {
				t.Fatalf("status: lambda %d, shim %d (lambda body %s)", got.StatusCode, rec.Code, got.Body)
			}
			if ct := got.Headers["Content-Type"]; ct != rec.Header().Get("Content-Type") {
				t.Fatalf("content type: lambda %q, shim %q", ct, rec.Header().Get("Content-Type"))
			}
			if got.Headers["X-Request-Id"] == "" {
				t.Fatal("lambda answer has no X-Request-Id")
			}
			tc.compareBody(t, []byte(got.Body), rec.Body.Bytes())
		})
	}
}

func compareExact(t *testing.T, lambda, shim []byte) {
	t.Helper()
	if !bytes.Equal(lambda, shim) {
		t.Fatalf("body: lambda %s, shim %s", lambda, shim)
	}
}

// compareHealth ignores latencies, which differ run to run.
func compareHealth(t *testing.T, lambda, shim []byte) {
	t.Helper()
	type body struct {
		Status string
		Checks map[string]struct{ Status string }
	}
	var a, b body
	if err := json.Unmarshal(lambda, &a); err != nil {
		t.Fatalf("lambda body %s: %v", lambda, err)
	}
	if err := json.Unmarshal(shim, &b); err != nil {
		t.Fatal(err)
	}
	if a.Status != "ok" || a.Status != b.Status || len(a.Checks) != 2 ||
		a.Checks["postgres"] != b.Checks["postgres"] || a.Checks["redis"] != b.Checks["redis"] {
		t.Fatalf("health: lambda %s, shim %s", lambda, shim)
	}
}

func buildBootstrap(t *testing.T, dir, function string) string {
	t.Helper()
	out := filepath.Join(dir, function, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", out, "./functions/"+function+"/lambda")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s bootstrap: %v\n%s", function, err, b)
	}
	return out
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// invoke starts one emulator for one invocation (overlapping invokes crash it)
// and returns the function's result.
func invoke(t *testing.T, rie, bootstrap string, env []string, event []byte) lambdaResult {
	t.Helper()
	api, runtimeAPI := freePort(t), freePort(t)
	var logs bytes.Buffer
	cmd := exec.Command(rie, "--runtime-interface-emulator-address", api, "--runtime-api-address", runtimeAPI, bootstrap)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator output:\n%s", logs.String())
		}
	}()
	url := "http://" + api + "/2015-03-31/functions/function/invocations"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lastErr error
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(event))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			lastErr = err
			time.Sleep(50 * time.Millisecond)
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var res lambdaResult
		if err := json.Unmarshal(raw, &res); err != nil || res.StatusCode == 0 {
			t.Fatalf("emulator answered %d: %s", resp.StatusCode, raw)
		}
		return res
	}
	t.Fatalf("emulator never answered: %v", lastErr)
	return lambdaResult{}
}

// apiGatewayV2Event is an HTTP API (payload format 2.0) event as API Gateway
// sends it on the $default stage.
func apiGatewayV2Event(method, path string) []byte {
	return lambdaRequest{method: method, path: path}.event()
}

// lambdaRequest is one HTTP request as API Gateway hands it to a function:
// cookies travel in their own list, a binary body is base64-encoded.
type lambdaRequest struct {
	method, path string
	headers      map[string]string
	cookies      []string
	body         []byte
	binary       bool
}

func (lr lambdaRequest) event() []byte {
	now := time.Now()
	headers := map[string]string{
		"accept": "application/json", "host": "api.example.com", "user-agent": "ari-test",
		"x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "https",
	}
	for k, v := range lr.headers {
		headers[strings.ToLower(k)] = v
	}
	ev := map[string]any{
		"version":        "2.0",
		"routeKey":       "$default",
		"rawPath":        lr.path,
		"rawQueryString": "",
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId": "123456789012", "apiId": "api", "domainName": "api.example.com",
			"domainPrefix": "api", "requestId": fmt.Sprintf("req-%d", now.UnixNano()),
			"routeKey": "$default", "stage": "$default", "time": now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			"timeEpoch": now.UnixMilli(),
			"http": map[string]any{
				"method": lr.method, "path": lr.path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "ari-test",
			},
		},
		"isBase64Encoded": lr.binary,
	}
	if len(lr.cookies) > 0 {
		ev["cookies"] = lr.cookies
	}
	if lr.body != nil {
		if lr.binary {
			ev["body"] = base64.StdEncoding.EncodeToString(lr.body)
		} else {
			ev["body"] = string(lr.body)
		}
	}
	b, _ := json.Marshal(ev)
	return b
}
