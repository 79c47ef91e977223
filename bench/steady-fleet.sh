#!/usr/bin/env bash
# What the open dashboard of a fleet costs: the real postdeck binary in a
# real terminal (tmux) watching NODES simulated nodes of IDS identities
# each (one `postdeck sim --nodes`) and HOSTS other hosts, each a
# `postdeck serve` over its own simulator of HOST_IDS identities, reached
# over real SSH. CPU (% of one core) of the dashboard against the CPU the
# nodes' side spends answering it (every simulator and every serve), and
# the dashboard's peak RSS.
#
#   bench/steady-fleet.sh [NODES] [IDS] [HOSTS] [HOST_IDS] [SECONDS] [WARMUP]
#       (default 10 100 5 20 60 10)
#
# POSTDECK_BIN=path uses an existing binary; SIM_SPEED as in
# steady-dashboard.sh.
set -euo pipefail

NODES=${1:-10}
IDS=${2:-100}
HOSTS=${3:-5}
HOST_IDS=${4:-20}
SECS=${5:-60}
WARMUP=${6:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SESSION=fleet
EXTRA_PIDS=

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init fleet

bench_need tmux tmux
bench_need ssh-keygen openssh-client
bench_build

# The nodes: one simulator process for all of them.
"$BIN" sim --nodes "$NODES" --ids "$IDS" --dir "$TMP/fleet" --speed "${SIM_SPEED:-1}" >"$TMP/fleet.log" 2>&1 &
SIM_PID=$!
CFG=$TMP/fleet/postdeck.toml
bench_wait_file() { # FILE LOG PID: wait for the config a simulator writes
	for _ in $(seq 1 600); do
		[[ -s $1 ]] && grep -q "config written" "$2" && return
		kill -0 "$3" 2>/dev/null || { echo "$2:" >&2; cat "$2" >&2; exit 1; }
		sleep 0.1
	done
	echo "no config in $1 after 60 s" >&2
	exit 1
}
bench_wait_file "$CFG" "$TMP/fleet.log" "$SIM_PID"
cp "$CFG" "$TMP/central.toml"

# The hosts: a simulator and a postdeck serve each, and the central's
# [[host]] blocks with a known_hosts file trusting each host key.
ssh-keygen -q -t ed25519 -N '' -f "$TMP/client" >/dev/null
: >"$TMP/known_hosts"
NODE_PIDS="$SIM_PID"
for h in $(seq 1 "$HOSTS"); do
	d=$TMP/host$h
	"$BIN" sim --ids "$HOST_IDS" --dir "$d" --speed "${SIM_SPEED:-1}" >"$d.sim.log" 2>&1 &
	sp=$!
	EXTRA_PIDS="$EXTRA_PIDS $sp"
	bench_wait_file "$d/postdeck.toml" "$d.sim.log" "$sp"
	XDG_STATE_HOME="$d/state" "$BIN" serve --config "$d/postdeck.toml" --listen 127.0.0.1:0 \
		--authorized-keys "$TMP/client.pub" --host-key "$d/host_key" 2>"$d.serve.log" &
	vp=$!
	EXTRA_PIDS="$EXTRA_PIDS $vp"
	NODE_PIDS="$NODE_PIDS $sp $vp"
	addr=
	for _ in $(seq 1 300); do
		addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$d.serve.log" | head -n 1)
		[[ -n $addr ]] && break
		sleep 0.1
	done
	[[ -n $addr ]] || { echo "serve $h did not listen:" >&2; cat "$d.serve.log" >&2; exit 1; }
	echo "[${addr%:*}]:${addr##*:} $(ssh-keygen -y -f "$d/host_key")" >>"$TMP/known_hosts"
	printf '\n[[host]]\nname = "host%d"\naddress = "%s"\nidentity_file = "%s"\nknown_hosts = "%s"\n' \
		"$h" "$addr" "$TMP/client" "$TMP/known_hosts" >>"$TMP/central.toml"
done

TOTAL=$((NODES * IDS + HOSTS * HOST_IDS))
tmux -L "$SOCK" -f /dev/null new-session -d -s "$SESSION" -x 160 -y 50 \
	"exec env TERM=xterm-256color ${DASH_ENV:-} '$BIN' --config '$TMP/central.toml'"
PID=$(tmux -L "$SOCK" list-panes -t "$SESSION" -F '#{pane_pid}')
bench_wait_comm "$PID" postdeck
bench_wait_screen "$SESSION" "$TOTAL identities"
bench_wait_gone "$SESSION" "history:"

echo "dashboard pid $PID; $NODES nodes × $IDS identities, $HOSTS hosts × $HOST_IDS; warm-up ${WARMUP}s, measuring ${SECS}s"
sleep "$WARMUP"
sum_ticks() { local t=0; for p in "$@"; do t=$((t + $(bench_ticks "$p"))); done; echo $t; }
# shellcheck disable=SC2086
d0=$(bench_ticks "$PID"); s0=$(sum_ticks $NODE_PIDS); t0=$(date +%s.%N)
sleep "$SECS"
kill -0 "$PID" 2>/dev/null || { echo "dashboard exited" >&2; exit 1; }
# shellcheck disable=SC2086
d1=$(bench_ticks "$PID"); s1=$(sum_ticks $NODE_PIDS); t1=$(date +%s.%N)
tmux -L "$SOCK" capture-pane -p -t "$SESSION" | head -n 8 | sed 's/^/  screen: /'
bench_report dashboard "$PID" "$d0" "$d1" "$s0" "$s1" "$t0" "$t1"
