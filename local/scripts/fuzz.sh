#!/usr/bin/env bash
# Bounded fuzzing of every Fuzz target in the packages given, FUZZTIME each
# (make fuzz). A target fails the run when it finds a failing input (Go
# writes it to the package's testdata/fuzz, to be committed with its fix) or
# fails in any other way, with one exception: Go 1.26's fuzz coordinator can
# report its own -fuzztime deadline as "context deadline exceeded" although
# nothing failed (golang/go#75804, fixed in Go 1.27). That signature — the
# deadline message, no failing input written, no new file under
# testdata/fuzz — is run again, up to twice; anything else fails at once.
set -uo pipefail
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-15s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

corpus() { find "$1/testdata/fuzz" -type f 2>/dev/null | sort; }

for p in "$@"; do
	targets=$($GO test -list '^Fuzz' "$p" | grep '^Fuzz') || { echo "fuzz: cannot list $p"; exit 1; }
	for f in $targets; do
		for try in 1 2 3; do
			echo "fuzz $p $f for $FUZZTIME"
			before=$(corpus "$p")
			$GO test -run='^$' -fuzz="^$f\$" -fuzztime="$FUZZTIME" -fuzzminimizetime=3s "$p" 2>&1 | tee "$out"
			[ "${PIPESTATUS[0]}" -eq 0 ] && break
			if grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written to' "$out" &&
				[ "$before" = "$(corpus "$p")" ] && [ "$try" -lt 3 ]; then
				echo "fuzz: $f stopped on Go's fuzztime deadline race (golang/go#75804), no failing input; running it again"
				continue
			fi
			exit 1
		done
	done
done
