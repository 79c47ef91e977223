package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/backend/proc"
	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

// simServiceEnv, set in a service's environment, makes this test binary
// (started through a symlink named post-service) a simulated post-service:
// the real thing's command line and operator API, proving against the
// simulator. This init must run before supervisor_test.go's, which turns a
// binary named post-service into a fake that never proves: files' inits
// run in the order of their names.
const simServiceEnv = "POSTDECK_TEST_SIM_SERVICE"

func init() {
	if os.Getenv(simServiceEnv) == "" {
		return
	}
	p := proc.ParsePostServiceArgs(os.Args)
	o := sim.ServiceOptions{Address: p.Address, Dir: p.Dir, OperatorAddress: p.Operator, RandomXMode: "light", Speed: ctlRigSpeed}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := sim.RunService(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// ctlRigSpeed is how much faster than real time the rig's services prove.
const ctlRigSpeed = 25

// ctlRig is a simulated node whose post-services are real processes (this
// test binary as post-service), with a real supervisor and controller.
type ctlRig struct {
	t        *testing.T
	sim      *sim.Sim
	cfg      *config.Config
	stateDir string
	ctl      *Controller
	poller   *Poller
	cancel   func()
}

// newCtlRig starts a manual simulator with ids identities and a controller
// over it; disks names each service's disk group (round robin), else the
// services are spread over four disks.
func newCtlRig(t *testing.T, ids int, auto bool, disks ...string) *ctlRig {
	t.Helper()
	// Keys of its own (fixed seeds 31+n collided with cmd/serve's).
	s, err := sim.Start(context.Background(), sim.Options{IDs: ids, Manual: true, RealServices: true, Seed: testkit.Seed(t),
		Dir: t.TempDir(), ProofRequestInterval: 100 * time.Millisecond, Now: testkit.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := simConfig(s.Layout())
	config.ApplyDefaults(cfg)
	cfg.Proving.Auto = auto
	cfg.Proving.MaxPerDisk = 1
	cfg.Proving.StopGrace.Duration = 3 * time.Second
	cfg.Poll.Interval.Duration = 200 * time.Millisecond
	bin := postServiceLink(t)
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		svc.Bin = bin
		svc.Disk = fmt.Sprintf("disk%d", i%4+1)
		if len(disks) > 0 {
			svc.Disk = disks[i%len(disks)]
		}
		svc.Env = map[string]string{simServiceEnv: "1"}
	}
	r := &ctlRig{t: t, sim: s, cfg: cfg, stateDir: filepath.Join(t.TempDir(), "state")}
	r.open()
	t.Cleanup(r.stopAll)
	return r
}

// postServiceLink is a symlink named post-service to this test binary.
func postServiceLink(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), proc.PostServiceName)
	if err := os.Symlink(exe, bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// open builds a fresh poller, supervisor and controller over the same
// state folder, as a newly started postdeck would.
func (r *ctlRig) open() {
	node, err := nodeapi.NewClient(nodeapi.OptionsFor(r.cfg))
	if err != nil {
		r.t.Fatal(err)
	}
	ops := operator.NewClient(r.cfg.Poll.Timeout.Duration)
	p := NewPoller(r.cfg, node, ops)
	sup, err := proc.NewSupervisor(r.cfg, r.stateDir)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctl, err := NewController(ctx, r.cfg, sup, p, r.stateDir)
	if err != nil {
		r.t.Fatal(err)
	}
	r.ctl, r.poller = ctl, p
	r.cancel = func() { cancel(); ctl.Wait(); ops.Close(); node.Close() }
	r.t.Cleanup(r.cancel)
}

// run polls in the background, so pending stops and the scheduler act.
func (r *ctlRig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	go r.poller.Run(ctx)
	r.t.Cleanup(cancel)
}

// stopAll force-stops whatever the test left running.
func (r *ctlRig) stopAll() {
	for _, s := range r.cfg.Services {
		r.ctl.Stop(context.Background(), s.Name, model.StopForce)
	}
}

func (r *ctlRig) svc(i int) sim.ServiceLayout { return r.sim.Layout().Services[i] }

// row observes one service afresh.
func (r *ctlRig) row(name string) model.Row {
	r.t.Helper()
	row, err := r.poller.PollService(context.Background(), name)
	if err != nil {
		r.t.Fatal(err)
	}
	return row
}

// startProving starts service i and has the node ask for its proof; it
// returns once the service is proving, with the service and its pid.
func (r *ctlRig) startProving(i int) (sim.ServiceLayout, int) {
	r.t.Helper()
	svc := r.svc(i)
	if _, err := r.ctl.Start(context.Background(), svc.Name); err != nil {
		r.t.Fatal(err)
	}
	pid := r.row(svc.Name).Proc.PID
	r.sim.SetNodeState(svc.NodeID, model.NodeProving)
	waitSlow(r.t, "the service to prove", func() bool { return r.row(svc.Name).ServiceState == model.ServiceProving })
	return svc, pid
}

// waitSlow waits for real processes: a longer deadline (a proof takes
// seconds), checked less often (each check asks the services).
func waitSlow(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.EventuallyEvery(t, 30*time.Second, 50*time.Millisecond, what, cond)
}

func TestStopIsRefusedWhileProvingAndQueuedStopFiresOnceTheProofIsFetched(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 2, false)
	svc, pid := r.startProving(0)
	ctx := context.Background()

	_, err := r.ctl.Stop(ctx, svc.Name, model.StopIfSafe)
	var unsafe *UnsafeStopError
	if !errors.As(err, &unsafe) || !strings.Contains(unsafe.Reason, "proving") {
		t.Fatalf("stop while proving: %v, want a refusal saying it is proving", err)
	}
	o, err := r.ctl.Stop(ctx, svc.Name, model.StopWhenSafe)
	if err != nil || o.Result != model.StopQueued || !strings.Contains(o.String(), "as soon as it is safe") {
		t.Fatalf("stop when safe: %q, %v", o, err)
	}
	r.run()
	// The stop must wait for the proof: the node is IDLE (it has the proof)
	// before the process goes, never the other way round.
	waitSlow(t, "the service to stop", func() bool {
		row := r.row(svc.Name)
		if row.Proc.State != model.ProcRunning && r.sim.NodeState(svc.NodeID) != model.NodeIdle {
			t.Fatalf("service stopped while the node still waits for its proof (node %v)", r.sim.NodeState(svc.NodeID))
		}
		return row.Proc.State == model.ProcStopped
	})
	// The row may say stopped a moment before the kernel has reaped the
	// process: wait for it to be gone.
	waitSlow(t, fmt.Sprintf("process %d to be gone", pid), func() bool { return syscall.Kill(pid, 0) != nil })
	// The queue is emptied once the supervisor's Stop returns, a moment
	// after the process is seen gone.
	waitSlow(t, "the pending stop to be dropped after the stop ran", func() bool { return len(r.ctl.Pending()) == 0 })
}

func TestStopVerdictIsRecheckedAtStopTime(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 1, false)
	svc := r.svc(0)
	ctx := context.Background()
	if _, err := r.ctl.Start(ctx, svc.Name); err != nil {
		t.Fatal(err)
	}
	waitSlow(t, "the service to answer", func() bool { return r.row(svc.Name).ServiceState == model.ServiceIdle })
	seen := r.row(svc.Name)
	if v := model.StopVerdict(&seen); !v.Safe {
		t.Fatalf("idle service on an idle node judged unsafe: %s", v.Reason)
	}
	// What the user saw was safe; by the time the stop runs the node wants a proof.
	r.sim.SetNodeState(svc.NodeID, model.NodeProving)
	_, err := r.ctl.Stop(ctx, svc.Name, model.StopIfSafe)
	var unsafe *UnsafeStopError
	if !errors.As(err, &unsafe) {
		t.Fatalf("stop after the node turned PROVING: %v, want a refusal", err)
	}
	if r.row(svc.Name).Proc.State != model.ProcRunning {
		t.Error("the service was stopped anyway")
	}
}

func TestPendingStopAndAdoptionSurviveARestartOfPostdeck(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 1, false)
	svc, pid := r.startProving(0)
	ctx := context.Background()
	if _, err := r.ctl.Stop(ctx, svc.Name, model.StopWhenSafe); err != nil {
		t.Fatal(err)
	}
	r.cancel() // postdeck quits; the service keeps proving

	r.open()
	row := r.row(svc.Name)
	if row.Proc.State != model.ProcRunning || row.Proc.PID != pid || row.Proc.Manager != model.ManagerPostdeck {
		t.Fatalf("after restart: %+v, want pid %d re-adopted", row.Proc, pid)
	}
	if !row.PendingStop {
		t.Fatal("the queued stop was lost with the restart")
	}
	r.run()
	waitSlow(t, "the queued stop to run after the proof", func() bool { return r.row(svc.Name).Proc.State == model.ProcStopped })
	if st := r.sim.NodeState(svc.NodeID); st != model.NodeIdle {
		t.Errorf("node state %v after the stop: the proof was not delivered first", st)
	}
}

func TestAutomaticProvingKeepsOneProverPerDisk(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 3, true, "diskA", "diskA", "diskB")
	// The node fetches no proof until the test lets it: a proof once
	// started stays under way, so what runs side by side is seen for sure.
	r.sim.HoldProofs(true)
	for i := range 3 {
		r.sim.SetNodeState(r.svc(i).NodeID, model.NodeProving)
	}
	r.run()
	a1, a2, b := r.svc(0), r.svc(1), r.svc(2)
	// proving observes the three services; it fails the test if both of
	// diskA's prove at once. The limit is on proving: a service whose proof
	// was fetched may still be on its way out while the next one on its
	// disk starts.
	proving := func() (p map[string]bool, running bool) {
		p = map[string]bool{}
		for _, s := range []sim.ServiceLayout{a1, a2, b} {
			row := r.row(s.Name)
			p[s.Name] = row.ServiceState == model.ServiceProving || row.ServiceState == model.ServiceDone
			running = running || row.Proc.State == model.ProcRunning
		}
		if p[a1.Name] && p[a2.Name] {
			t.Fatalf("two services proving on diskA at once")
		}
		return p, running
	}
	// Disks prove in parallel: diskB's proof and one of diskA's, both held.
	var first, second sim.ServiceLayout
	waitSlow(t, "diskA and diskB to prove at the same time", func() bool {
		p, _ := proving()
		switch {
		case p[a1.Name]:
			first, second = a1, a2
		case p[a2.Name]:
			first, second = a2, a1
		default:
			return false
		}
		return p[b.Name]
	})
	// …while diskA's other service waits for its disk, poll after poll.
	feed, unsubscribe := r.poller.Subscribe()
	defer unsubscribe()
	deadline := time.After(30 * time.Second)
	for waited := 0; waited < 3; {
		select {
		case snap := <-feed:
			for _, row := range snap.Rows {
				if row.Service == second.Name && row.Proc.State == model.ProcRunning {
					t.Fatalf("%s started while %s proves on the same disk", second.Name, first.Name)
				}
			}
			for _, w := range snap.Scheduler.Waits {
				if w.Service == second.Name && strings.Contains(w.Reason, "disk diskA is busy with "+first.Name) {
					waited++
				}
			}
		case <-deadline:
			t.Fatalf("%s was not seen waiting for diskA in three polls", second.Name)
		}
	}
	unsubscribe()
	r.sim.HoldProofs(false)
	waitSlow(t, "every proof delivered and every service stopped again", func() bool {
		_, running := proving()
		for _, s := range []sim.ServiceLayout{a1, a2, b} {
			if r.sim.NodeState(s.NodeID) != model.NodeIdle {
				return false
			}
		}
		return !running
	})
}

// TestAutomaticProvingHoldsOffAServiceThatFailsToStart: a broken service is
// not started again every cycle, the header says why, it stays critical, and
// it does not block the other service on its disk.
func TestAutomaticProvingHoldsOffAServiceThatFailsToStart(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 2, true, "disk1")
	r.cancel()
	r.cfg.Services[0].Bin = filepath.Join(t.TempDir(), "no-such-post-service")
	r.open()
	broken, good := r.svc(0), r.svc(1)
	r.sim.SetNodeState(broken.NodeID, model.NodeProving)
	r.sim.SetNodeState(good.NodeID, model.NodeProving)
	feed, unsubscribe := r.poller.Subscribe()
	defer unsubscribe()
	r.run()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case snap := <-feed:
			if r.sim.NodeState(good.NodeID) != model.NodeIdle {
				continue // the good service on the same disk must still get its proof done
			}
			w := snap.Scheduler.Waits
			if len(w) != 1 || !w[0].Held || !strings.Contains(w[0].Reason, "no-such-post-service") {
				continue
			}
			if snap.ExitCode() != model.ExitCritical {
				t.Errorf("a service that cannot start while the node wants its proof must stay critical")
			}
			if !strings.Contains(w[0].Reason, "start failed") {
				t.Errorf("the header's wait reason %q does not say the start failed", w[0].Reason)
			}
			return
		case <-deadline:
			t.Fatal("never saw the good service's proof delivered with the broken one held")
		}
	}
}

// A restart stops only when that is safe, re-checked, unless forced; a
// safe stop says why it was safe, and a second one finds nothing running.
func TestControllerRestartAndStopOutcomes(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 1, false)
	svc := r.svc(0)
	ctx := context.Background()
	if o, err := r.ctl.Start(ctx, svc.Name); err != nil || len(o.Warnings) != 0 {
		t.Fatalf("start: %+v %v, want no warnings", o, err)
	}
	waitSlow(t, "the service to answer", func() bool { return r.row(svc.Name).ServiceState == model.ServiceIdle })
	pid := r.row(svc.Name).Proc.PID

	if _, err := r.ctl.Restart(ctx, svc.Name); err != nil {
		t.Fatalf("restart while idle: %v", err)
	}
	row := r.row(svc.Name)
	if row.Proc.State != model.ProcRunning || row.Proc.PID == pid {
		t.Fatalf("after a restart: %+v, want a new process (was pid %d)", row.Proc, pid)
	}
	pid = row.Proc.PID

	r.sim.SetNodeState(svc.NodeID, model.NodeProving)
	waitSlow(t, "the service to prove", func() bool { return r.row(svc.Name).ServiceState == model.ServiceProving })
	var unsafe *UnsafeStopError
	if _, err := r.ctl.Restart(ctx, svc.Name); !errors.As(err, &unsafe) {
		t.Fatalf("restart while proving: %v, want a refusal", err)
	}
	if row := r.row(svc.Name); row.Proc.PID != pid {
		t.Fatalf("a refused restart replaced the process: pid %d, was %d", row.Proc.PID, pid)
	}
	if _, err := r.ctl.ForceRestart(ctx, svc.Name); err != nil {
		t.Fatalf("force restart: %v", err)
	}
	if row := r.row(svc.Name); row.Proc.State != model.ProcRunning || row.Proc.PID == pid {
		t.Fatalf("after a forced restart: %+v, want a new process (was pid %d)", row.Proc, pid)
	}

	// The new process proves for the node too; once the node has the proof,
	// stopping is safe.
	waitSlow(t, "the proof to reach the node", func() bool { return r.sim.NodeState(svc.NodeID) == model.NodeIdle })
	o, err := r.ctl.Stop(ctx, svc.Name, model.StopIfSafe)
	if err != nil || o.Result != model.StopDone || o.Forced || o.Reason == "" {
		t.Fatalf("safe stop: %+v %v, want stopped with the verdict's reason", o, err)
	}
	if o, err := r.ctl.Stop(ctx, svc.Name, model.StopIfSafe); err != nil || o.Result != model.StopNotRunning {
		t.Errorf("second stop: %+v %v, want not running", o, err)
	}
}

// Automatic proving starts nothing while it is off, however many cycles
// the node waits for a proof, and starts the service once it is on.
func TestControllerAutomaticProvingOnlyWhenOn(t *testing.T) {
	t.Parallel() // each rig has its own seed, state folder and processes
	r := newCtlRig(t, 1, false)
	svc := r.svc(0)
	r.sim.SetNodeState(svc.NodeID, model.NodeProving)
	feed, unsubscribe := r.poller.Subscribe()
	defer unsubscribe()
	r.run()
	for range 5 {
		var snap model.Snapshot
		select {
		case snap = <-feed:
		case <-time.After(30 * time.Second):
			t.Fatal("no snapshot for 30 s")
		}
		if len(snap.Rows) == 1 && snap.Rows[0].Proc.State == model.ProcRunning {
			t.Fatal("automatic proving off, yet the service was started")
		}
	}
	if r.ctl.Auto() {
		t.Fatal("Auto() on with proving.auto off")
	}
	r.ctl.SetAuto(true)
	if !r.ctl.Auto() {
		t.Fatal("SetAuto(true) did not turn it on")
	}
	waitSlow(t, "automatic proving to start the service", func() bool { return r.row(svc.Name).Proc.State == model.ProcRunning })
}
