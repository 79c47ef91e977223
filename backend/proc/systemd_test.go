package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// fakeSystemctl is a systemctl stand-in (systemd cannot run in the test
// sandbox): unit state lives in files under state/, written with shell
// builtins only, since PATH holds nothing else.
const fakeSystemctl = `#!/bin/sh
S=%STATE%
[ "$1" = "--no-ask-password" ] || { echo "postdeck must not let systemctl ask for a password" >&2; exit 9; }
shift
echo "$*" >> $S/calls
case "$1" in
show)
	shift 3 # show -p PROPS
	first=1
	for u in "$@"; do
		[ $first = 1 ] || echo
		first=0
		st=inactive
		[ -f $S/$u ] && read st < $S/$u
		case $st in
		active) printf 'ActiveState=active\nSubState=running\nMainPID=4242\nNRestarts=2\nExecMainCode=0\nExecMainStatus=0\n' ;;
		failed) printf 'ActiveState=failed\nSubState=failed\nMainPID=0\nNRestarts=0\nExecMainCode=1\nExecMainStatus=101\n' ;;
		stopped) printf 'ActiveState=inactive\nSubState=dead\nMainPID=0\nNRestarts=2\nExecMainCode=2\nExecMainStatus=15\n' ;;
		*) printf 'ActiveState=inactive\nSubState=dead\nMainPID=0\nNRestarts=0\nExecMainCode=0\nExecMainStatus=0\n' ;;
		esac
	done ;;
start)
	if [ -f $S/deny ]; then echo "Failed to start $2: Access denied" >&2; echo "See system logs and 'systemctl status $2' for details." >&2; exit 4; fi
	case $2 in *fail*) echo failed > $S/$2 ;; *) echo active > $S/$2 ;; esac ;;
stop)
	echo stopped > $S/$2 ;;
*)
	echo "unknown command $1" >&2; exit 1 ;;
esac
`

func TestSupervisorSystemd(t *testing.T) {
	w := newSupWorld(t)
	fake := filepath.Join(w.root, "fakebin")
	state := filepath.Join(w.root, "units")
	os.MkdirAll(fake, 0o755)
	os.MkdirAll(state, 0o755)
	testkit.WriteFile(t, filepath.Join(fake, "systemctl"), strings.ReplaceAll(fakeSystemctl, "%STATE%", state))
	os.Chmod(filepath.Join(fake, "systemctl"), 0o755)
	t.Setenv("PATH", fake)
	w.service("u1", 1, func(c *config.ServiceConfig) { c.Bin, c.SystemdUnit = "", "post-u1.service" })
	w.service("u2", 2, func(c *config.ServiceConfig) { c.Bin, c.SystemdUnit = "", "post-u2-fail.service" })
	w.service("b1", 3, nil)
	s := w.sup()
	s.startWait = 10 * time.Millisecond
	ctx := context.Background()

	p := s.Procs()
	if u := p["u1"]; u.State != model.ProcStopped || u.Manager != model.ManagerSystemd || !u.Startable || u.LastExit != "" {
		t.Errorf("before start: %+v", u)
	}
	if b := p["b1"]; b.State != model.ProcStopped || b.Manager != model.ManagerNone {
		t.Errorf("bin service next to units: %+v", b)
	}
	if err := s.Start(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if u := s.Procs()["u1"]; u.State != model.ProcRunning || u.Manager != model.ManagerSystemd || u.PID != 4242 || u.Restarts != 2 {
		t.Errorf("after start: %+v", u)
	}
	wantErr(t, s.Start(ctx, "u1"), "already running (pid 4242", "post-u1.service")
	if err := s.Stop(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	if u := s.Procs()["u1"]; u.State != model.ProcStopped || u.LastExit != "SIGTERM" || u.ExitDetail != "killed by SIGTERM" {
		t.Errorf("after stop: %+v", u)
	}
	if err := s.Stop(ctx, "u1"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("second stop: %v", err)
	}
	calls, _ := os.ReadFile(filepath.Join(state, "calls"))
	if !strings.Contains(string(calls), "start post-u1.service\n") || !strings.Contains(string(calls), "stop post-u1.service\n") ||
		!strings.Contains(string(calls), "show -p "+unitProps+" post-u1.service post-u2-fail.service\n") {
		t.Errorf("systemctl calls:\n%s", calls)
	}

	err := s.Start(ctx, "u2")
	wantErr(t, err, "post-u2-fail.service is failed right after starting (exit status 101)", "journalctl not found")
	if s.LogPath("u1") != "" {
		t.Errorf("a unit has no log file of ours: %q", s.LogPath("u1"))
	}

	testkit.WriteFile(t, filepath.Join(state, "deny"), "")
	wantErr(t, s.Start(ctx, "u1"), "permission denied", "systemctl start post-u1.service", "Access denied", "polkit")

	// No systemctl at all.
	t.Setenv("PATH", filepath.Join(w.root, "empty"))
	wantErr(t, s.Start(ctx, "u1"), "systemctl not found", "use bin instead of systemd_unit for u1")
	wantErr(t, s.Stop(ctx, "u1"), "systemctl not found")
	if u := s.Procs()["u1"]; u.State != model.ProcUnknown || u.Manager != model.ManagerSystemd || u.LastExit != "" ||
		!strings.Contains(u.ExitDetail, "systemctl not found") {
		t.Errorf("without systemctl: %+v", u)
	}
}
