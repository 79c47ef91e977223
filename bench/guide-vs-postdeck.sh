#!/usr/bin/env bash
# `postdeck status --json` against the guide's way (grpcurl PostStates,
# grpcurl SmesherIDs, one curl /status per post-service) at 1000 identities,
# both in one `go test` invocation so the ratio comes from one run.
#
#   bench/guide-vs-postdeck.sh [BENCHTIME]     (default 3x)
#
# Installs grpcurl v1.9.4 into a temp folder with `go install` (from outside
# the module, so go.mod is not touched) unless POSTDECK_GRPCURL names one or
# grpcurl is in PATH; installs curl with apt-get if it is missing.
set -euo pipefail

BENCHTIME=${1:-3x}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=$(mktemp -d /tmp/postdeck-guide.XXXXXX)
trap 'rm -rf "$TOOLS"' EXIT INT TERM

if [[ -z ${POSTDECK_GRPCURL:-} ]]; then
	if command -v grpcurl >/dev/null; then
		POSTDECK_GRPCURL=$(command -v grpcurl)
	else
		echo "installing grpcurl v1.9.4 into $TOOLS" >&2
		(cd "$TOOLS" && GOFLAGS= GOBIN="$TOOLS" go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4)
		POSTDECK_GRPCURL=$TOOLS/grpcurl
	fi
fi
export POSTDECK_GRPCURL
if ! command -v curl >/dev/null; then
	echo "curl not found; installing it" >&2
	apt-get install -y curl >/dev/null
fi
echo "grpcurl: $POSTDECK_GRPCURL ($("$POSTDECK_GRPCURL" -version 2>&1))"
echo "curl:    $(command -v curl) ($(curl --version | head -n 1 | cut -d' ' -f1-2))"

OUT=$TOOLS/bench.txt
(cd "$ROOT" && go test -count=1 -run '^$' -bench 'StatusJSON1000|GuideWay1000' -benchtime "$BENCHTIME" ./cmd/status) | tee "$OUT"

# Both lines must be there (the guide benchmark skips without grpcurl).
awk '
	$1 ~ /^BenchmarkStatusJSON1000/ { s = $3 }
	$1 ~ /^BenchmarkGuideWay1000/   { g = $3 }
	END {
		if (s == "" || g == "") { print "missing a benchmark line; see above" > "/dev/stderr"; exit 1 }
		printf "postdeck status --json: %.1f ms   guide way: %.1f ms   ratio %.1fx (target >= 20x: %s)\n",
			s / 1e6, g / 1e6, g / s, (g / s >= 20 ? "met" : "NOT met")
	}' "$OUT"
