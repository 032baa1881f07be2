package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestFuzzScriptRetriesOnlyGosDeadlineRace runs local/scripts/fuzz.sh (make
// fuzz) with a stand-in for go whose fuzz runs end as told: only Go 1.26's
// fuzztime deadline race (golang/go#75804: the deadline message, no failing
// input, nothing new in testdata/fuzz) is run again, at most three times in
// all; a failing input or any other failure fails the run on its first try.
func TestFuzzScriptRetriesOnlyGosDeadlineRace(t *testing.T) {
	const fakeGo = `#!/bin/sh
if [ "$2" = "-list" ]; then echo FuzzX; echo ok; exit 0; fi
n=$(cat "$COUNT" 2>/dev/null || echo 0); echo $((n+1)) > "$COUNT"
case $MODE in
pass) echo PASS ;;
race-once) if [ "$n" -lt 1 ]; then printf -- '--- FAIL: FuzzX (15.01s)\n    context deadline exceeded\nFAIL\n'; exit 1; fi; echo PASS ;;
race-always) printf -- '--- FAIL: FuzzX (15.01s)\n    context deadline exceeded\n'; exit 1 ;;
crasher) printf -- '    Failing input written to testdata/fuzz/FuzzX/1\n    context deadline exceeded\n'; exit 1 ;;
new-file) mkdir -p "$PKG/testdata/fuzz/FuzzX"; touch "$PKG/testdata/fuzz/FuzzX/$n"; echo 'context deadline exceeded'; exit 1 ;;
panic) echo 'panic: boom'; exit 1 ;;
esac
`
	dir := t.TempDir()
	goBin := filepath.Join(dir, "go")
	if err := os.WriteFile(goBin, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode   string
		ok     bool
		tries  int
		saying string
	}{
		{"pass", true, 1, "FuzzX for 1s"},
		{"race-once", true, 2, "golang/go#75804"},
		{"race-always", false, 3, "context deadline exceeded"},
		{"crasher", false, 1, "Failing input written to"},
		{"new-file", false, 1, "context deadline exceeded"},
		{"panic", false, 1, "panic: boom"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			pkg := filepath.Join(t.TempDir(), "pkg")
			if err := os.MkdirAll(pkg, 0o755); err != nil {
				t.Fatal(err)
			}
			count := filepath.Join(t.TempDir(), "count")
			cmd := exec.Command("bash", "scripts/fuzz.sh", pkg)
			cmd.Env = append(os.Environ(), "GO="+goBin, "FUZZTIME=1s", "MODE="+tc.mode, "COUNT="+count, "PKG="+pkg)
			out, err := cmd.CombinedOutput()
			if (err == nil) != tc.ok {
				t.Fatalf("exit error %v, want ok=%v:\n%s", err, tc.ok, out)
			}
			b, _ := os.ReadFile(count)
			if n, _ := strconv.Atoi(strings.TrimSpace(string(b))); n != tc.tries {
				t.Fatalf("%d fuzz runs, want %d:\n%s", n, tc.tries, out)
			}
			if !strings.Contains(string(out), tc.saying) {
				t.Fatalf("output lacks %q:\n%s", tc.saying, out)
			}
		})
	}
}
