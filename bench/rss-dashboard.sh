#!/usr/bin/env bash
# Peak and current resident memory of the postdeck dashboard watching a
# simulated node with N identities (default 1000) for about 15 s of polling.
#
#   bench/rss-dashboard.sh [IDS] [SECONDS]
#
# Starts `postdeck sim` in the background, runs the dashboard in a detached
# tmux session on a private tmux server, reads VmHWM / VmRSS from
# /proc/<pid>/status of the dashboard process, and cleans everything up.
# POSTDECK_BIN=path uses an existing binary instead of building one.
set -euo pipefail

IDS=${1:-1000}
SECS=${2:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d /tmp/postdeck-rss.XXXXXX)
SOCK=postdeck-rss-$$
SIM_PID=
SESSION=dash

cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	if [[ -n $SIM_PID ]] && kill -0 "$SIM_PID" 2>/dev/null; then
		kill "$SIM_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$SIM_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

if ! command -v tmux >/dev/null; then
	echo "tmux not found; installing it" >&2
	apt-get install -y tmux >/dev/null
fi

BIN=${POSTDECK_BIN:-}
if [[ -z $BIN ]]; then
	BIN=$TMP/postdeck
	(cd "$ROOT" && go build -o "$BIN" .)
fi

"$BIN" sim --ids "$IDS" --dir "$TMP/sim" >"$TMP/sim.log" 2>&1 &
SIM_PID=$!
CFG=$TMP/sim/postdeck.toml
for _ in $(seq 1 300); do
	[[ -s $CFG ]] && grep -q "config written" "$TMP/sim.log" && break
	kill -0 "$SIM_PID" 2>/dev/null || { echo "sim exited:" >&2; cat "$TMP/sim.log" >&2; exit 1; }
	sleep 0.1
done
[[ -s $CFG ]] || { echo "sim wrote no config in 30 s" >&2; exit 1; }

# exec, so the pane's process is the dashboard itself.
tmux -L "$SOCK" -f /dev/null new-session -d -s "$SESSION" -x 160 -y 50 \
	"exec env TERM=xterm-256color '$BIN' --config '$CFG'"
PID=$(tmux -L "$SOCK" list-panes -t "$SESSION" -F '#{pane_pid}')
# Right after new-session the pane's process may still be tmux's fork that
# has not exec'd yet: wait for it to become postdeck.
comm=
for _ in $(seq 1 50); do
	comm=$(cat "/proc/$PID/comm" 2>/dev/null || true)
	[[ $comm == postdeck* ]] && break
	sleep 0.1
done
[[ $comm == postdeck* ]] || { echo "pane process $PID is '$comm', not postdeck" >&2; exit 1; }

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status"; }

echo "dashboard pid $PID, sim pid $SIM_PID, $IDS identities, sampling for ${SECS}s"
for i in $(seq 1 "$SECS"); do
	sleep 1
	kill -0 "$PID" 2>/dev/null || { echo "dashboard exited" >&2; tmux -L "$SOCK" capture-pane -p -t "$SESSION" >&2 || true; exit 1; }
	printf '  t=%2ds  VmRSS %6s KiB  VmHWM %6s KiB\n' "$i" "$(kib VmRSS "$PID")" "$(kib VmHWM "$PID")"
done

# The header proves the dashboard polled: it counts the identities.
for _ in $(seq 1 20); do
	screen=$(tmux -L "$SOCK" capture-pane -p -t "$SESSION")
	grep -q "$IDS identities" <<<"$screen" && break
	sleep 0.5
done
if ! grep -q "$IDS identities" <<<"$screen"; then
	echo "the dashboard does not show $IDS identities:" >&2
	echo "$screen" >&2
	exit 1
fi
head -n 2 <<<"$screen" | sed 's/^/  screen: /'

HWM=$(kib VmHWM "$PID")
RSS=$(kib VmRSS "$PID")
SIM_RSS=$(kib VmRSS "$SIM_PID")
awk -v h="$HWM" -v r="$RSS" 'BEGIN {
	printf "dashboard VmHWM %d KiB (%.1f MiB, %.1f MB)\n", h, h/1024, h*1.024/1000
	printf "dashboard VmRSS %d KiB (%.1f MiB, %.1f MB)\n", r, r/1024, r*1.024/1000
}'
printf 'simulator VmRSS %d KiB (for reference; not postdeck)\n' "$SIM_RSS"
