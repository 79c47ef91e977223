package service

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/common"
	"postdeck/cmd/simcmd"
	"postdeck/model"
	"postdeck/sim"
)

// rig is a simulated node whose post-services are real processes (the
// postdeck binary as post-service), with a real supervisor and controller.
type rig struct {
	t        *testing.T
	sim      *sim.Sim
	cfg      *config.Config
	stateDir string
	ctl      *backend.Controller
	poller   *backend.Poller
	cancel   context.CancelFunc
}

// newRig starts a manual simulator with ids identities and a controller
// over it; disks names each service's disk group (round robin).
func newRig(t *testing.T, ids int, auto bool, disks ...string) *rig {
	t.Helper()
	// A seed of its own (not sim's or serve's 3 or 23): the supervisor
	// refuses a second process for an identity another package's test runs.
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, RealServices: true, Seed: testkit.Seed(t),
		Dir: t.TempDir(), ProofRequestInterval: 100 * time.Millisecond, Now: cmdtest.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg, err := simcmd.RealServicesConfig(s.Layout(), cmdtest.Binary, 25, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Proving.Auto = auto
	cfg.Proving.StopGrace.Duration = 3 * time.Second
	cfg.Poll.Interval.Duration = 200 * time.Millisecond
	for i := range cfg.Services {
		if len(disks) > 0 {
			cfg.Services[i].Disk = disks[i%len(disks)]
		}
	}
	r := &rig{t: t, sim: s, cfg: cfg, stateDir: filepath.Join(t.TempDir(), "state")}
	r.open()
	t.Cleanup(r.stopAll)
	return r
}

// open builds a fresh session and controller over the same state folder, as
// a newly started postdeck would.
func (r *rig) open() {
	sess, err := common.OpenSession(r.cfg, cmdtest.Clock)
	if err != nil {
		r.t.Fatal(err)
	}
	ctl, err := sess.Control(r.stateDir)
	if err != nil {
		r.t.Fatal(err)
	}
	r.ctl, r.poller = ctl, sess.Poller
	r.cancel = sess.Close
	r.t.Cleanup(r.cancel)
}

// stopAll force-stops whatever the test left running.
func (r *rig) stopAll() {
	for _, s := range r.cfg.Services {
		r.ctl.Stop(context.Background(), s.Name, model.StopForce)
	}
}

func (r *rig) svc(i int) sim.ServiceLayout { return r.sim.Layout().Services[i] }

// row observes one service afresh.
func (r *rig) row(name string) model.Row {
	r.t.Helper()
	row, err := r.poller.PollService(context.Background(), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return row
}

// TestServicesOutliveTheDashboardsTerminal: the operator's SSH session dies
// (the terminal is killed) while a service postdeck started is proving; the
// service keeps running and delivers its proof.
func TestServicesOutliveTheDashboardsTerminal(t *testing.T) {
	r := newRig(t, 2, true)
	r.cancel() // the in-test controller steps aside: the dashboard acts
	svc := r.svc(0)
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(r.cfg), false); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	tm := cmdtest.NewTerm(t, 120, 30, "env XDG_STATE_HOME="+state+" "+cmdtest.Binary+" --config "+path)
	tm.WaitFor("the dashboard", cmdtest.Contains("post01.key", "auto on"))
	r.sim.SetNodeState(svc.NodeID, model.NodeProving)
	tm.WaitFor("automatic proving to start the service", cmdtest.Contains("data01   proving"))
	dashboard, err := strconv.Atoi(strings.TrimSpace(tm.Tmux("display-message", "-p", "-t", tm.Name, "#{pane_pid}")))
	if err != nil {
		t.Fatalf("the dashboard's pid: %v", err)
	}
	tm.Tmux("kill-session", "-t", tm.Name)
	// The terminal's hangup (a SIGHUP, which also asks for a reload) ends
	// the dashboard: none runs on without a screen, acting on the services.
	cmdtest.WaitFor(t, "the dashboard to exit with its terminal", func() bool { return exited(dashboard) })

	// A fresh postdeck over the dashboard's state folder finds it.
	r.stateDir = filepath.Join(state, "postdeck")
	r.open()
	row := r.row(svc.Name)
	if row.Proc.State != model.ProcRunning || row.Proc.Manager != model.ManagerPostdeck {
		t.Fatalf("after the terminal died: %+v, want the service still running and adopted", row.Proc)
	}
	cmdtest.WaitFor(t, "the proof to reach the node", func() bool { return r.sim.NodeState(svc.NodeID) == model.NodeIdle })
	if err := syscall.Kill(row.Proc.PID, 0); err != nil {
		t.Errorf("service process %d gone after delivering: %v", row.Proc.PID, err)
	}
}

// exited says the process is gone or a zombie (an orphan's reaper may be
// slow to take it).
func exited(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	after := stat[bytes.LastIndexByte(stat, ')')+1:]
	return len(after) > 1 && after[1] == 'Z'
}

// TestStartStopLogsCommands drives the command line as a script would.
func TestStartStopLogsCommands(t *testing.T) {
	r := newRig(t, 2, false)
	r.cancel()
	path := filepath.Join(t.TempDir(), "postdeck.toml")
	if err := config.WriteFile(path, config.Render(r.cfg), false); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	run := func(args ...string) (string, string, int) {
		t.Helper()
		return cmdtest.PostdeckEnv(t, []string{"XDG_STATE_HOME=" + state}, append(args, "--config", path)...)
	}
	svc := r.svc(0)
	if out, errOut, code := run("start", svc.Name); code != 0 || !strings.Contains(out, svc.Name+": started") {
		t.Fatalf("start: exit %d, %q %q", code, out, errOut)
	}
	// Starting what runs is a success, so a script can make sure it runs.
	if out, errOut, code := run("start", svc.Name); code != 0 || out != svc.Name+": already running\n" {
		t.Errorf("second start: exit %d, %q %q; want 0 and %q", code, out, errOut, svc.Name+": already running")
	}
	if _, errOut, code := run("start", "nosuch"); code != 1 || !strings.Contains(errOut, `no service or key file named "nosuch"`) {
		t.Errorf("unknown name: exit %d, %q", code, errOut)
	}

	r.sim.SetNodeState(svc.NodeID, model.NodeProving)
	r.stateDir = filepath.Join(state, "postdeck")
	r.open()
	cmdtest.WaitFor(t, "the service to prove", func() bool { return r.row(svc.Name).ServiceState == model.ServiceProving })
	// By key file name, as the node reports it.
	_, errOut, code := run("stop", "post01.key")
	if code != exitUnsafe || !strings.Contains(errOut, "proving") {
		t.Fatalf("unsafe stop: exit %d, %q; want %d and the reason", code, errOut, exitUnsafe)
	}
	out, errOut, code := run("stop", "--when-safe", svc.Name)
	if code != 0 || !strings.Contains(out, "waiting: ") || !strings.Contains(out, svc.Name+": stopped") {
		t.Fatalf("stop --when-safe: exit %d, %q %q", code, out, errOut)
	}
	if st := r.sim.NodeState(svc.NodeID); st != model.NodeIdle {
		t.Errorf("stop --when-safe returned with the node %v: the proof was not fetched first", st)
	}
	if out, _, code := run("logs", svc.Name, "-n", "200"); code != 0 || !strings.Contains(out, "proof is valid") {
		t.Errorf("logs: exit %d, %q", code, out)
	}
	if _, errOut, code := run("stop", svc.Name); code != 0 {
		t.Errorf("stopping a stopped service: exit %d, %q", code, errOut)
	}
}
