#!/usr/bin/env bash
# What `postdeck serve` costs the machine that proves with N SSH sessions
# open (real OpenSSH clients, each in its own tmux window at 120x40) on a
# simulated node with IDS identities: CPU (% of one core) and peak RSS of
# the server over the measured window, beside the CPU the simulator spends
# answering the polls (the node side).
#
#   bench/steady-serve.sh [IDS] [SESSIONS] [SECONDS] [WARMUP]   (default 1000 20 60 10)
#
# POSTDECK_BIN=path uses an existing binary; SERVE_ENV adds environment for
# the server (e.g. GOGC=50).
set -euo pipefail

IDS=${1:-1000}
SESSIONS=${2:-20}
SECS=${3:-60}
WARMUP=${4:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SESSION=ssh
EXTRA_PIDS=

# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
bench_init serve

bench_need tmux tmux
bench_need ssh openssh-client
bench_need ssh-keygen openssh-client
bench_build
bench_start_sim "$IDS"

ssh-keygen -q -t ed25519 -N '' -f "$TMP/client" >/dev/null
cp "$TMP/client.pub" "$TMP/authorized_keys"
env XDG_STATE_HOME="$TMP/state" ${SERVE_ENV:-} "$BIN" serve --config "$CFG" --listen 127.0.0.1:0 \
	--authorized-keys "$TMP/authorized_keys" --host-key "$TMP/host_key" 2>"$TMP/serve.log" &
PID=$!
EXTRA_PIDS=$PID
ADDR=
for _ in $(seq 1 300); do
	ADDR=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$TMP/serve.log" | head -n 1)
	[[ -n $ADDR ]] && break
	kill -0 "$PID" 2>/dev/null || { echo "serve exited:" >&2; cat "$TMP/serve.log" >&2; exit 1; }
	sleep 0.1
done
[[ -n $ADDR ]] || { echo "serve did not say where it listens" >&2; exit 1; }
PORT=${ADDR##*:}

SSH="ssh -tt -p $PORT -i $TMP/client -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR 127.0.0.1"
tmux -L "$SOCK" -f /dev/null new-session -d -s "$SESSION" -n s1 -x 120 -y 40 "TERM=xterm-256color $SSH"
for i in $(seq 2 "$SESSIONS"); do
	tmux -L "$SOCK" new-window -t "$SESSION" -n "s$i" "TERM=xterm-256color $SSH"
done
for i in $(seq 1 "$SESSIONS"); do
	bench_wait_screen "$SESSION:s$i" "$IDS identities"
done

echo "serve pid $PID, sim pid $SIM_PID, $IDS identities, $SESSIONS SSH sessions; warm-up ${WARMUP}s, measuring ${SECS}s"
sleep "$WARMUP"
d0=$(bench_ticks "$PID"); s0=$(bench_ticks "$SIM_PID"); t0=$(date +%s.%N)
sleep "$SECS"
kill -0 "$PID" 2>/dev/null || { echo "serve exited" >&2; cat "$TMP/serve.log" >&2; exit 1; }
d1=$(bench_ticks "$PID"); s1=$(bench_ticks "$SIM_PID"); t1=$(date +%s.%N)
# Every session still shows the live table at the end.
for i in $(seq 1 "$SESSIONS"); do
	bench_wait_screen "$SESSION:s$i" "$IDS identities"
done
tmux -L "$SOCK" capture-pane -p -t "$SESSION:s$SESSIONS" | head -n 2 | sed 's/^/  screen: /'

bench_report serve "$PID" "$d0" "$d1" "$s0" "$s1" "$t0" "$t1"
