#!/usr/bin/env bash
# What the open dashboard costs the machine that proves: CPU (% of one core)
# and peak RSS of the real postdeck binary, in a real terminal (tmux), kept
# open against `postdeck sim` with N identities, beside the CPU the simulator
# spends answering its polls (the node side).
#
#   bench/steady-dashboard.sh [IDS] [SECONDS] [WARMUP]    (default 1000 60 10)
#
# The CPU figures are utime+stime from /proc/PID/stat over the measured
# window (after the ledger's backfill and WARMUP seconds of polling); peak
# RSS is VmHWM over the whole run, the backfill's included. Both processes
# are measured in the same window, so their ratio is comparable on a noisy
# machine. SIM_SPEED=x runs the simulator's proving cycle (and its events)
# at x times the demo's pace. POSTDECK_BIN=path uses an existing binary;
# extra environment for the dashboard goes in DASH_ENV (e.g. GOMEMLIMIT=32MiB).
set -euo pipefail

IDS=${1:-1000}
SECS=${2:-60}
WARMUP=${3:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SESSION=dash

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init steady

bench_need tmux tmux
bench_build
bench_start_sim "$IDS"

# exec, so the pane's process is the dashboard itself.
tmux -L "$SOCK" -f /dev/null new-session -d -s "$SESSION" -x 160 -y 50 \
	"exec env TERM=xterm-256color ${DASH_ENV:-} '$BIN' --config '$CFG'"
PID=$(tmux -L "$SOCK" list-panes -t "$SESSION" -F '#{pane_pid}')
bench_wait_comm "$PID" postdeck

# The header proves the dashboard polled: it counts the identities. A
# steady dashboard is one whose ledger backfill (its header's "history:
# n/N identities") is over.
bench_wait_screen "$SESSION" "$IDS identities"
bench_wait_gone "$SESSION" "history:"

echo "dashboard pid $PID, sim pid $SIM_PID, $IDS identities; warm-up ${WARMUP}s, measuring ${SECS}s"
sleep "$WARMUP"
d0=$(bench_ticks "$PID"); s0=$(bench_ticks "$SIM_PID"); t0=$(date +%s.%N)
sleep "$SECS"
kill -0 "$PID" 2>/dev/null || { echo "dashboard exited" >&2; exit 1; }
d1=$(bench_ticks "$PID"); s1=$(bench_ticks "$SIM_PID"); t1=$(date +%s.%N)
bench_wait_screen "$SESSION" "$IDS identities"
tmux -L "$SOCK" capture-pane -p -t "$SESSION" | head -n 2 | sed 's/^/  screen: /'

bench_report dashboard "$PID" "$d0" "$d1" "$s0" "$s1" "$t0" "$t1"
