package testenv

import "os"

// CoverDirEnv names the folder where binaries that tests build and run (the
// relay, the shim) write their coverage counters. `make test` sets it
// (local/scripts/coverage.sh) and merges what lands there with the unit
// tests' own coverage; unset, nothing is instrumented.
const CoverDirEnv = "ARI_COVER_DIR"

// CoverBuildArgs are the extra `go build` flags for a binary a test runs:
// statement coverage of every package of the module, in the atomic mode
// that `go test -race -cover` uses too, so the counters can be merged.
func CoverBuildArgs() []string {
	if os.Getenv(CoverDirEnv) == "" {
		return nil
	}
	return []string{"-cover", "-covermode=atomic", "-coverpkg=github.com/ari-chat/ari-server/..."}
}

// CoverEnv is the environment entry that makes such a process write its
// counters when it exits (main returns or os.Exit; a SIGKILLed one writes
// nothing).
func CoverEnv() []string {
	if dir := os.Getenv(CoverDirEnv); dir != "" {
		return []string{"GOCOVERDIR=" + dir}
	}
	return nil
}
