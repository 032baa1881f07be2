// Package browser opens test pages in Debian's headless Chromium, driven by
// playwright-core (pinned in package-lock.json, installed by `npm ci` on
// first use). A page reports by setting window.__result; Run hands that
// value to the Go test. `make test` installs Chromium (local/scripts/services.sh).
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ari-chat/ari-server/shared/testenv/npm"
)

// Chromium is where Debian's chromium package puts the browser.
const Chromium = "/usr/bin/chromium"

// Run opens url in a fresh headless Chromium profile, waits (at most
// timeout) until the page sets window.__result, and decodes that value into
// out. A page that never reports, or a browser that cannot start, fails the
// test with the page's console and failed requests.
func Run(t testing.TB, url string, timeout time.Duration, out any) {
	t.Helper()
	dir := driverDir(t)
	drive(t, url, dir, []string{"drive.mjs", url, strconv.FormatInt(timeout.Milliseconds(), 10), Chromium}, nil, timeout, out)
}

// Script runs a test's own driver, the ES module file, for steps a page
// cannot take itself (reloads, clicks, screenshots): `node file args…` with
// ARI_PLAYWRIGHT naming playwright-core's module (import it from there) and
// ARI_CHROMIUM the browser. Like drive.mjs, the script prints one JSON line,
// {"result": …} or {"error": "…"} with "logs", and Script decodes the result
// into out. timeout bounds the script (browser start and close included).
func Script(t testing.TB, file string, timeout time.Duration, out any, args ...string) {
	t.Helper()
	dir := driverDir(t)
	abs, err := filepath.Abs(file)
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"ARI_PLAYWRIGHT=" + filepath.Join(dir, "node_modules", "playwright-core", "index.mjs"), "ARI_CHROMIUM=" + Chromium}
	drive(t, file, filepath.Dir(abs), append([]string{abs}, args...), env, timeout, out)
}

// driverDir checks for Chromium and installs playwright-core beside this file.
func driverDir(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		t.Fatalf("browser: %s is missing: install Debian's chromium (`bash local/scripts/services.sh install` does, as root)", Chromium)
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("browser: cannot find the driver's folder")
	}
	dir := filepath.Dir(file)
	npm.Install(t, dir)
	return dir
}

// drive runs node with args in dir and decodes the driver's report.
func drive(t testing.TB, what, dir string, args, env []string, timeout time.Duration, out any) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("browser: node is not on PATH: %v", err)
	}
	// The driver bounds the page; this bounds the driver (browser start and close included).
	ctx, cancel := context.WithTimeout(context.Background(), timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser: driver: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	var res struct {
		Result json.RawMessage `json:"result"`
		Error  string          `json:"error"`
		Logs   []string        `json:"logs"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("browser: driver output: %v\n%s%s", err, stdout.String(), stderr.String())
	}
	for _, l := range res.Logs {
		t.Log("page:", l)
	}
	if res.Error != "" {
		t.Fatalf("browser: %s (%s)\n%s", res.Error, what, strings.Join(res.Logs, "\n"))
	}
	if err := json.Unmarshal(res.Result, out); err != nil {
		t.Fatalf("browser: page result %s: %v", res.Result, err)
	}
}
