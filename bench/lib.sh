# Helpers shared by the bench scripts (sourced, not run). A script sources
# this, calls bench_init NAME and sets SESSION; the helpers set BIN, CFG and
# SIM_PID.

# bench_init NAME makes the script's temp folder and private tmux socket
# (TMP, SOCK) and cleans both up, with the simulator, when it exits.
bench_init() {
	TMP=$(mktemp -d "/tmp/postdeck-$1.XXXXXX")
	# The benched postdeck's state (the epoch ledger, logs, pending stops)
	# stays in the bench's folder, not the user's, nor another bench's.
	export XDG_STATE_HOME="$TMP/state"
	SOCK=postdeck-$1-$$
	SIM_PID=
	trap 'bench_cleanup' EXIT INT TERM
}

bench_cleanup() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	if [[ -n ${EXTRA_PIDS:-} ]]; then
		# shellcheck disable=SC2086
		kill $EXTRA_PIDS 2>/dev/null || true
	fi
	if [[ -n ${SIM_PID:-} ]] && kill -0 "$SIM_PID" 2>/dev/null; then
		kill "$SIM_PID" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$SIM_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}

# bench_need CMD PACKAGE installs PACKAGE with apt-get when CMD is missing.
bench_need() {
	command -v "$1" >/dev/null && return
	echo "$1 not found; installing $2" >&2
	apt-get install -y "$2" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y "$2" >/dev/null; }
}

bench_build() {
	BIN=${POSTDECK_BIN:-}
	if [[ -z $BIN ]]; then
		BIN=$TMP/postdeck
		(cd "$ROOT" && go build -o "$BIN" .)
	fi
}

# bench_start_sim IDS starts `postdeck sim` and waits for its config.
# SIM_SPEED (default 1, the demo's pace) slows or speeds its proving cycle,
# and with it the rate of the node's events.
bench_start_sim() {
	"$BIN" sim --ids "$1" --dir "$TMP/sim" --speed "${SIM_SPEED:-1}" >"$TMP/sim.log" 2>&1 &
	SIM_PID=$!
	CFG=$TMP/sim/postdeck.toml
	for _ in $(seq 1 300); do
		[[ -s $CFG ]] && grep -q "config written" "$TMP/sim.log" && return
		kill -0 "$SIM_PID" 2>/dev/null || { echo "sim exited:" >&2; cat "$TMP/sim.log" >&2; exit 1; }
		sleep 0.1
	done
	echo "sim wrote no config in 30 s" >&2
	exit 1
}

# bench_wait_comm PID NAME waits until PID has exec'd NAME (right after
# new-session the pane's process may still be tmux's fork).
bench_wait_comm() {
	local comm=
	for _ in $(seq 1 50); do
		comm=$(cat "/proc/$1/comm" 2>/dev/null || true)
		[[ $comm == "$2"* ]] && return
		sleep 0.1
	done
	echo "process $1 is '$comm', not $2" >&2
	exit 1
}

# bench_wait_screen SESSION TEXT waits up to 30 s for TEXT on the pane.
bench_wait_screen() {
	local screen=
	for _ in $(seq 1 60); do
		screen=$(tmux -L "$SOCK" capture-pane -p -t "$1")
		grep -q "$2" <<<"$screen" && return
		sleep 0.5
	done
	echo "the pane does not show '$2':" >&2
	echo "$screen" >&2
	exit 1
}

# bench_wait_gone SESSION TEXT waits up to 60 s until TEXT is off the pane
# (the dashboard's "history: …" backfill progress, say).
bench_wait_gone() {
	for _ in $(seq 1 120); do
		tmux -L "$SOCK" capture-pane -p -t "$1" | grep -q "$2" || return 0
		sleep 0.5
	done
	echo "the pane still shows '$2' after 60 s" >&2
	exit 1
}

# bench_ticks PID prints the process's utime+stime in clock ticks.
bench_ticks() {
	# Fields after the command name (which may hold spaces): utime is the
	# 12th, stime the 13th.
	sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

bench_kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status"; }

# bench_report NAME PID D0 D1 S0 S1 T0 T1 prints CPU % of a core for the
# measured process and the simulator, their ratio, the peak RSS and the RSS
# at the end.
bench_report() {
	local hz hwm rss
	hz=$(getconf CLK_TCK)
	hwm=$(bench_kib VmHWM "$2")
	rss=$(bench_kib VmRSS "$2")
	awk -v n="$1" -v d="$(($4 - $3))" -v s="$(($6 - $5))" -v t0="$7" -v t1="$8" -v hz="$hz" -v h="$hwm" -v r="$rss" 'BEGIN {
		w = t1 - t0
		dc = 100 * d / hz / w; sc = 100 * s / hz / w
		printf "%s CPU %.1f %% of a core; simulator (node side) %.1f %%; ratio %.2f\n", n, dc, sc, (sc > 0 ? dc / sc : 0)
		printf "%s peak RSS (VmHWM) %d KiB = %.1f MiB = %.1f MB; at the end (VmRSS) %.1f MiB\n", n, h, h / 1024, h * 1.024 / 1000, r / 1024
	}'
}
