package ui

import (
	"strconv"
	"strings"
	"time"

	"postdeck/model"
)

// procCol is one of the process columns. They are not model columns (they
// do not sort) and they are the first to leave a narrow screen.
type procCol int

const (
	procNone procCol = iota
	procPID
	procUp
	procExit
	procRestarts
	numProcCols
)

var procTitles = [numProcCols]string{"", "PID", "UP", "EXIT", "RST"}

const (
	upWidth      = 6  // "23h59m"
	maxExitWidth = 10 // "SIGKILL", "exit 127"
)

// hasProc reports whether postdeck knows anything about the row's process.
func hasProc(p *model.ProcInfo) bool {
	return p.State != model.ProcUnknown || p.Manager != model.ManagerNone || p.PID > 0 || p.Startable
}

// procWidths are the natural widths of the process columns for these rows,
// all zero when no row has process information (a dashboard without
// supervisor: the columns stay away).
func procWidths(rows []model.Row) [numProcCols]int {
	var w [numProcCols]int
	for i := range rows {
		p := &rows[i].Proc
		if !hasProc(p) {
			continue
		}
		w[procPID] = max(w[procPID], len(procTitles[procPID]), cellWidth(pidText(p)))
		w[procUp] = upWidth
		w[procExit] = max(w[procExit], len(procTitles[procExit]), min(maxExitWidth, cellWidth(exitText(p.LastExit))))
		w[procRestarts] = max(w[procRestarts], len(procTitles[procRestarts]), len(strconv.Itoa(p.Restarts)))
	}
	return w
}

// procText is a process cell; now measures the uptime.
func procText(r *model.Row, c procCol, now time.Time) string {
	p := &r.Proc
	if !hasProc(p) {
		return ""
	}
	switch c {
	case procPID:
		return pidText(p)
	case procUp:
		if p.State == model.ProcRunning && !p.Started.IsZero() {
			return age(now.Sub(p.Started))
		}
	case procExit:
		return exitText(p.LastExit)
	case procRestarts:
		if p.Restarts > 0 || p.Manager == model.ManagerPostdeck {
			return strconv.Itoa(p.Restarts)
		}
	}
	return ""
}

// pidText is the PID cell: the pid, "ext" for a process postdeck did not
// start, "-" when stopped.
func pidText(p *model.ProcInfo) string {
	s := ""
	switch {
	case p.PID > 0 && p.State != model.ProcStopped:
		s = strconv.Itoa(p.PID)
	case p.State == model.ProcStopped:
		s = "-"
	}
	if p.Manager == model.ManagerExternal {
		if s == "" || s == "-" {
			return "ext"
		}
		return s + " ext"
	}
	return s
}

// exitText shortens an exit description: "exit status 1" → "exit 1",
// "killed by SIGKILL" / "signal: killed" → "SIGKILL" / "killed".
func exitText(s string) string {
	s = printable(strings.TrimSpace(s), false)
	switch {
	case strings.HasPrefix(s, "exit status "):
		return "exit " + strings.TrimPrefix(s, "exit status ")
	case strings.HasPrefix(s, "killed by "):
		return strings.TrimPrefix(s, "killed by ")
	case strings.HasPrefix(s, "signal: "):
		return strings.TrimPrefix(s, "signal: ")
	case strings.HasPrefix(s, "died"):
		return "died (?)" // "died (status unknown)": the detail view has the rest
	}
	return s
}

// stateText is the STATE cell: the operator's state, with ⏸ while a stop
// waits for it to become safe.
func stateText(r *model.Row) string {
	if r.PendingStop {
		return r.ServiceState.String() + " ⏸"
	}
	return r.ServiceState.String()
}

// layoutTable adds the process columns to the model columns' layout while
// every model column fits at its natural width: they are the first to go.
// They sit before the last column, which takes the width left.
func layoutTable(natural [model.NumColumns]int, proc [numProcCols]int, width int) []column {
	cols := layoutColumns(natural, width)
	if proc[procPID] == 0 {
		return cols
	}
	need := naturalTotal(natural) // the model columns' natural width
	avail := width - gutter
	for keep := numProcCols - 1; keep > 0; keep-- { // RST leaves first, PID last
		extra := 0
		for p := procPID; p <= procCol(keep); p++ {
			extra += proc[p] + 1
		}
		if need+extra > avail {
			continue
		}
		fleet := natural[model.ColFleet] > 0
		out := make([]column, 0, int(model.NumColumns)+int(keep))
		for _, c := range model.DisplayOrder[:model.NumColumns-1] {
			if shown(natural, c) {
				out = append(out, column{col: c, width: natural[c], fleet: fleet})
			}
		}
		for p := procPID; p <= procCol(keep); p++ {
			out = append(out, column{proc: p, width: proc[p]})
		}
		last := model.DisplayOrder[model.NumColumns-1]
		out = append(out, column{col: last, width: avail - need - extra + natural[last], fleet: fleet})
		return out
	}
	return cols
}

// naturalTotal is the width of the model columns that show at their
// natural widths, with a space between each.
func naturalTotal(natural [model.NumColumns]int) int {
	need := -1
	for c := range model.NumColumns {
		if shown(natural, c) {
			need += natural[c] + 1
		}
	}
	return need
}
