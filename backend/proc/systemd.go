package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"postdeck/model"
)

// Services with systemd_unit are started and stopped with `systemctl
// start|stop UNIT` and their state read with `systemctl show`; postdeck
// never signals their processes itself.

const (
	unitProps        = "ActiveState,SubState,MainPID,NRestarts,ExecMainCode,ExecMainStatus"
	showTimeout      = 3 * time.Second
	unitStartTimeout = time.Minute
	// A unit's stop takes as long as its TimeoutStopSec (systemd's default
	// is 90 s) and systemctl waits for it.
	unitStopTimeout = 3 * time.Minute
)

// unitState is one unit as `systemctl show` describes it.
type unitState struct {
	active, sub string // ActiveState, SubState
	pid         int    // MainPID, 0 when none
	restarts    int    // NRestarts
	lastExit    string // from ExecMainCode/ExecMainStatus when not running: short ("exit 1", "SIGTERM")
	exitDetail  string // the same in words ("exit status 1", "killed by SIGTERM")
	err         error  // systemctl could not be asked
}

func (u unitState) running() bool {
	switch u.active {
	case "active", "activating", "deactivating", "reloading", "refreshing":
		return true
	}
	return false
}

// systemctl runs systemctl with a bounded time and turns its failures into
// advice: not installed, not allowed, or its own message.
func systemctl(ctx context.Context, timeout time.Duration, service string, args ...string) ([]byte, error) {
	path, err := exec.LookPath("systemctl")
	if err != nil {
		return nil, fmt.Errorf("systemctl not found (%v): this machine does not run systemd or it is not in PATH; "+
			"use bin instead of systemd_unit for %s", err, service)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, append([]string{"--no-ask-password"}, args...)...)
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if err == nil {
		return out, nil
	}
	msg := strings.TrimSpace(string(out))
	what := "systemctl " + strings.Join(args, " ")
	switch {
	case ctx.Err() != nil:
		return out, fmt.Errorf("%s did not finish within %s", what, timeout)
	case containsAny(msg, "Access denied", "authentication required", "Permission denied", "not permitted"):
		return out, fmt.Errorf("permission denied: %s needs root or a polkit rule that allows it (%s); "+
			"run postdeck as a user that may manage the unit, or use bin", what, firstLine(msg))
	case msg != "":
		return out, fmt.Errorf("%s failed: %s", what, firstLine(msg))
	}
	return out, fmt.Errorf("%s failed: %v", what, err)
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// unitStates asks systemctl once for every configured unit.
func (s *Supervisor) unitStates(ctx context.Context) map[string]unitState {
	var names, units []string
	s.mu.Lock()
	for _, c := range s.cfg.Services {
		if sv := s.svcs[c.Name]; sv != nil && c.SystemdUnit != "" {
			names, units = append(names, c.Name), append(units, c.SystemdUnit)
		}
	}
	s.mu.Unlock()
	if len(units) == 0 {
		return nil
	}
	out := make(map[string]unitState, len(units))
	states, err := showUnits(ctx, names[0], units)
	for i, name := range names {
		if err != nil {
			out[name] = unitState{err: err}
		} else {
			out[name] = states[i]
		}
	}
	return out
}

// showUnits runs one `systemctl show` for several units. Its output is one
// block of KEY=VALUE lines per unit, in the order asked, blank-line separated.
func showUnits(ctx context.Context, service string, units []string) ([]unitState, error) {
	args := append([]string{"show", "-p", unitProps}, units...)
	out, err := systemctl(ctx, showTimeout, service, args...)
	if err != nil {
		return nil, err
	}
	blocks := strings.Split(strings.TrimSpace(string(out)), "\n\n")
	if len(blocks) != len(units) {
		return nil, fmt.Errorf("systemctl show gave %d answers for %d units", len(blocks), len(units))
	}
	states := make([]unitState, len(units))
	for i, b := range blocks {
		states[i] = parseUnitState(b)
	}
	return states, nil
}

func parseUnitState(block string) unitState {
	var u unitState
	var code, status int
	for line := range strings.SplitSeq(block, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "ActiveState":
			u.active = v
		case "SubState":
			u.sub = v
		case "MainPID":
			u.pid = n
		case "NRestarts":
			u.restarts = n
		case "ExecMainCode":
			code = n
		case "ExecMainStatus":
			status = n
		}
	}
	// ExecMainCode is the CLD_* code of the main process's end.
	if !u.running() {
		switch code {
		case 1:
			u.lastExit, u.exitDetail = exitCode(status)
		case 2, 3:
			u.lastExit, u.exitDetail = killedBy(syscallSignal(status), code == 3)
		}
	}
	return u
}

// unitInfo is the ProcInfo of a systemd service. When systemctl cannot be
// asked the state is unknown, LastExit is empty and ExitDetail says why.
func unitInfo(info model.ProcInfo, u unitState, table map[int]*procEntry) model.ProcInfo {
	info.Manager = model.ManagerSystemd
	if u.err != nil {
		info.State, info.LastExit, info.ExitDetail = model.ProcUnknown, "", "state unknown: "+u.err.Error()
		return info
	}
	info.Restarts, info.LastExit, info.ExitDetail = u.restarts, u.lastExit, u.exitDetail
	if !u.running() {
		info.State = model.ProcStopped
		return info
	}
	info.State, info.PID = model.ProcRunning, u.pid
	if e := table[u.pid]; e != nil {
		info.Started = startTime(e.start)
	}
	return info
}

func (s *Supervisor) unitState(ctx context.Context, sv *service) (unitState, error) {
	st, err := showUnits(ctx, sv.conf.Name, []string{sv.conf.SystemdUnit})
	if err != nil {
		return unitState{}, fmt.Errorf("%s: %v", sv.conf.Name, err)
	}
	return st[0], nil
}

func (s *Supervisor) startUnit(ctx context.Context, sv *service) error {
	name, unit := sv.conf.Name, sv.conf.SystemdUnit
	u, err := s.unitState(ctx, sv)
	if err != nil {
		return err
	}
	if u.running() {
		return fmt.Errorf("%s is %w (pid %d, systemd unit %s %s)", name, ErrAlreadyRunning, u.pid, unit, u.active)
	}
	if err := s.startChecks(sv); err != nil {
		return err
	}
	if _, err := systemctl(ctx, unitStartTimeout, name, "start", unit); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	// Like a bin service: a unit that fails at once is an error with its
	// last log lines.
	select {
	case <-time.After(s.startWait):
	case <-ctx.Done():
		return nil
	}
	if u, err := s.unitState(ctx, sv); err == nil && !u.running() {
		return fmt.Errorf("%s: systemd unit %s is %s right after starting (%s); its last log lines:\n%s",
			name, unit, u.active, u.exitDetail, strings.Join(journalTail(unit, 10), "\n"))
	}
	return nil
}

func (s *Supervisor) stopUnit(ctx context.Context, sv *service) error {
	name, unit := sv.conf.Name, sv.conf.SystemdUnit
	u, err := s.unitState(ctx, sv)
	if err != nil {
		return err
	}
	if !u.running() {
		return fmt.Errorf("%s is %w: systemd unit %s is %s", name, ErrNotRunning, unit, u.active)
	}
	if _, err := systemctl(ctx, unitStopTimeout, name, "stop", unit); err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// journalTail is the unit's last n journal lines (`journalctl -u UNIT -n N
// --no-pager -o cat`), or one line saying why there are none.
func journalTail(unit string, n int) []string {
	path, err := exec.LookPath("journalctl")
	if err != nil {
		return []string{"(journalctl not found: no log for systemd unit " + unit + ")"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), showTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "-u", unit, "-n", strconv.Itoa(n), "--no-pager", "-o", "cat")
	cmd.WaitDelay = time.Second
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return []string{"(journalctl: " + firstLine(strings.TrimSpace(string(ee.Stderr))) + ")"}
		}
		return []string{fmt.Sprintf("(journalctl: %v)", err)}
	}
	out = bytes.TrimSuffix(out, []byte("\n"))
	if len(out) == 0 {
		return nil
	}
	lines := strings.Split(string(out), "\n")
	for i, l := range lines {
		lines[i] = capLine([]byte(l), false)
	}
	return lines
}

func syscallSignal(n int) syscall.Signal { return syscall.Signal(n) }

// journalFollow copies the unit's new journal lines (`journalctl -u UNIT -f
// -n 0 --no-pager -o cat`) to w until ctx ends; then it returns nil.
func journalFollow(ctx context.Context, unit string, w io.Writer) error {
	path, err := exec.LookPath("journalctl")
	if err != nil {
		return fmt.Errorf("journalctl not found (%v): cannot follow the log of systemd unit %s", err, unit)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, "-u", unit, "-f", "-n", "0", "--no-pager", "-o", "cat")
	cmd.Stdout, cmd.Stderr = w, &stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil
	case err != nil && stderr.Len() > 0:
		return fmt.Errorf("journalctl -u %s -f: %s", unit, firstLine(strings.TrimSpace(stderr.String())))
	case err != nil:
		return fmt.Errorf("journalctl -u %s -f: %v", unit, err)
	}
	return fmt.Errorf("journalctl -u %s -f ended by itself", unit)
}
