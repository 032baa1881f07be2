package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// GoTool returns the path of a Go command built from the module proxy
// (pkg@version, e.g. a test peer such as the Lambda emulator), building it once
// per machine into the user cache. A file lock keeps parallel test processes
// from building it twice; the binary is renamed into place only when complete.
func GoTool(t testing.TB, pkg, version string) string {
	t.Helper()
	p, err := goTool(pkg, version)
	if err != nil {
		t.Fatalf("testenv: %s@%s: %v", pkg, version, err)
	}
	return p
}

func goTool(pkg, version string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	name := path.Base(pkg)
	dir := filepath.Join(cache, "ari-test-tools", name+"-"+strings.ReplaceAll(version, "/", "_"))
	bin := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH: %w", err)
	}
	cmd := exec.Command(goCmd, "install", pkg+"@"+version)
	cmd.Dir = gobin // outside any module, so the project's go.mod plays no part
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=-buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install: %v\n%s", err, out)
	}
	return bin, os.Rename(filepath.Join(gobin, name), bin)
}
