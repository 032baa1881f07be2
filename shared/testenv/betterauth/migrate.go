package betterauth

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Migrate runs stock Better Auth's migrator against databaseURL, creating its
// tables exactly as Better Auth itself would.
func Migrate(t testing.TB, databaseURL string) {
	t.Helper()
	dir, err := peerDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := ensureNodeModules(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "migrate.mjs"))
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NODE_ENV=development", "DATABASE_URL=" + databaseURL}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "MIGRATED") {
		t.Fatalf("better auth migrate: %v\n%s", err, out)
	}
}
