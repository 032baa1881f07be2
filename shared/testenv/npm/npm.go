// Package npm installs the pinned npm packages of test folders that drive real
// Node peers (Better Auth, the A2A SDK, ws, http_ece). It imports nothing of the
// project, so any test helper can use it.
package npm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Install installs a test folder's pinned npm packages (`npm ci`, from its
// package-lock.json) when they are not installed yet, so `go test ./...`
// works on a fresh clone. Test binaries of several packages may share a folder
// and run at once, so the check and the install happen under a file lock, and
// a folder counts as installed only once npm wrote its hidden lockfile, the
// last thing `npm ci` does.
func Install(t testing.TB, dir string) {
	t.Helper()
	if err := InstallDir(dir); err != nil {
		t.Fatalf("npm: %v", err)
	}
}

// InstallDir is Install for callers without a testing.TB.
func InstallDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	done := filepath.Join(abs, "node_modules", ".package-lock.json")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	unlock, err := lockDir(abs)
	if err != nil {
		return err
	}
	defer unlock()
	return installLocked(abs)
}

// Build installs a package folder's pinned npm packages and runs its
// `npm run build` (TypeScript compiled with the pinned tsc), under the same
// lock, so test binaries sharing the folder never see a half-written build.
func Build(t testing.TB, dir string) {
	t.Helper()
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := lockDir(abs)
	if err != nil {
		t.Fatalf("npm: %v", err)
	}
	defer unlock()
	if err := installLocked(abs); err != nil {
		t.Fatalf("npm: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "run", "--silent", "build")
	cmd.Dir = abs
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm run build in %s: %v\n%s", abs, err, out)
	}
}

// lockDir takes the folder's file lock (one per absolute path, in the temp dir).
func lockDir(abs string) (unlock func(), err error) {
	sum := sha256.Sum256([]byte(abs))
	lockPath := filepath.Join(os.TempDir(), "ari-npm-"+hex.EncodeToString(sum[:8])+".lock")
	lock, err := os.OpenFile(lockPath, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, fmt.Errorf("lock %s: %w", lockPath, err)
	}
	return func() {
		_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		lock.Close()
	}, nil
}

// installLocked runs `npm ci` unless it already finished, with the folder's lock held.
func installLocked(abs string) error {
	done := filepath.Join(abs, "node_modules", ".package-lock.json")
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = abs
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", abs, err, out)
	}
	if _, err := os.Stat(done); err != nil {
		return fmt.Errorf("npm ci in %s finished without installing", abs)
	}
	return nil
}
