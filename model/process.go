package model

import "time"

// ProcState is what postdeck knows about a post-service's process.
type ProcState int

const (
	// ProcUnknown: postdeck does not manage or see the process (e.g. it runs
	// on another machine); the operator API is the only evidence.
	ProcUnknown ProcState = iota
	// ProcStopped: postdeck manages it and no process runs.
	ProcStopped
	// ProcRunning: a process serves this data directory.
	ProcRunning
)

var procStateNames = [...]string{"unknown", "stopped", "running"}

func (s ProcState) String() string {
	if int(s) < len(procStateNames) {
		return procStateNames[s]
	}
	return "unknown"
}

// Manager says who started a service's process.
type Manager string

const (
	ManagerNone     Manager = ""         // not managed (no bin or unit configured)
	ManagerPostdeck Manager = "postdeck" // started by postdeck's supervisor
	ManagerSystemd  Manager = "systemd"  // a systemd unit
	ManagerExternal Manager = "external" // started by other means; found by its --dir
)

// ProcInfo is the process side of a row: the table's pid, uptime, last exit
// and restarts columns.
type ProcInfo struct {
	State   ProcState
	Manager Manager
	PID     int
	Started time.Time // zero when unknown
	// LastExit is the last exit, short for the EXIT column: "exit 0",
	// "exit 1", "SIGKILL", "SIGTERM", "died (status unknown)"; empty when
	// none seen.
	LastExit string
	// ExitDetail is LastExit in words, for a detail view: "killed by
	// SIGKILL (core dumped)", "exited while postdeck was not running (status
	// unknown)", "stopped by postdeck with SIGTERM (external)"; or, with an
	// empty LastExit, why the state is unknown (systemctl not found, ...).
	ExitDetail string
	// Restarts (the RST column) counts the service's unexpected exits: its
	// process ended and no postdeck stopped it (a crash, an exit at start,
	// a kill by someone else). Starts, automatic proving's included, do not
	// count. For a systemd unit it is the unit's NRestarts: systemd's own
	// restarts after an exit.
	Restarts int
	// Startable: postdeck has launch settings (bin or systemd_unit) for it.
	Startable bool
	// Bin and Args are the program and command line: the running process's
	// (its executable from /proc, its argv), else what postdeck would start
	// (bin and the argv built from the [[service]]); empty when neither is
	// known.
	Bin  string
	Args []string
	// BinVersion is what Bin answered to --version ("0.7.11"); empty until
	// asked or when it could not be, and then BinNote says why ("the binary
	// was replaced since the process started", "not found in PATH").
	BinVersion, BinNote string
}

// Running reports whether the service may be running: a process is seen, or
// postdeck cannot see processes and the operator API answers.
func (r *Row) Running() bool {
	switch r.Proc.State {
	case ProcRunning:
		return true
	case ProcStopped:
		return false
	}
	return r.ServiceState != ServiceNone && r.ServiceState != ServiceUnreachable
}
