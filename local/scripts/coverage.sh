#!/usr/bin/env bash
# Statement coverage of the unit tests and of the processes the tests run,
# merged (`make test` uses it; a developer may too, on fewer packages).
#   coverage.sh test DIR [PKG...]   run `go test -race` over PKG (default ./...)
#                                   with -cover over every package of the module;
#                                   test binaries write to DIR/unit, the relay
#                                   and shim binaries the tests build and run write
#                                   to DIR/procs (testenv.CoverDirEnv)
#   coverage.sh report DIR          per-package statement coverage of DIR/unit and
#                                   DIR/procs merged, the issue's targets beside
#                                   their figures (printed, never asserted), and
#                                   DIR/cover.out for `go tool cover -html`
# A process killed with SIGKILL writes no counters, so what a test kills
# that way is missing from the figures (they are a lower bound).
set -euo pipefail
GO=${GO:-go}
module=$($GO list -m)

case "${1:-}" in
  test)
    dir=$(realpath -m "$2"); shift 2
    rm -rf "$dir"; mkdir -p "$dir/unit" "$dir/procs"
    [ $# -gt 0 ] || set -- ./...
    ARI_COVER_DIR="$dir/procs" $GO test -race -count=1 -timeout 30m \
      -cover -covermode=atomic -coverpkg="$module/..." "$@" -args -test.gocoverdir="$dir/unit"
    ;;
  report)
    dir=$(realpath -m "$2")
    inputs="$dir/unit"
    if [ -n "$(ls -A "$dir/procs" 2>/dev/null)" ]; then inputs="$inputs,$dir/procs"; fi
    $GO tool covdata textfmt -i="$inputs" -o "$dir/cover.out"
    echo "Statement coverage per package (unit tests and test-run processes merged; $dir/cover.out):"
    # Targets from issue 19 item 7; the figure is shown, not enforced.
    $GO tool covdata percent -i="$inputs" | awk -v m="$module/" '
      BEGIN { t["relay/stream"]=80; t["relay/client"]=80; t["relay/agent"]=80; t["shared/auth"]=85; t["shared/store"]=85 }
      $2 == "coverage:" || $3 == "coverage:" {
        pkg = $1; sub(m, "", pkg); pct = ($2 == "coverage:") ? $3 : $4
        if (pkg == m || pkg == "" || pkg ~ /testenv|snifftest|storagetest/) next
        line = sprintf("  %-34s %7s", pkg, pct)
        if (pkg in t) line = line sprintf("   (target %d%%)", t[pkg])
        print line
      }' | sort
    ;;
  *) echo "usage: $0 test DIR [PKG...] | report DIR" >&2; exit 2 ;;
esac
