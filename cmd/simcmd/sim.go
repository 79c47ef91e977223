package simcmd

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"postdeck/backend/config"
	"postdeck/cmd/common"
	"postdeck/sim"
)

// Run runs the simulated node headless and writes a ready-to-use config,
// for tests and for trying the command line without a node.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("sim", g, stderr)
	ids := fs.Int("ids", 12, "number of simulated identities")
	dir := fs.String("dir", "", "folder for the simulated node data and PoST dirs (default: a temp folder, removed on exit)")
	out := fs.String("config-out", "", "where to write the config (default DIR/postdeck.toml)")
	speed := fs.Float64("speed", 1, "how fast the simulated proving cycle runs")
	demo := fs.Bool("demo", false, "add the demo's problem cases (no service, stuck proof, unloaded key)")
	real := fs.Bool("real-services", false, "run the post-services as real processes that postdeck starts and stops (start/stop/logs work)")
	history := AddHistoryFlags(fs, false)
	nodes := fs.Int("nodes", 1, "number of simulated nodes, each with its own listeners, keys and folder DIR/nodeK, --ids identities each, in one config of [[node]] blocks; the other flags and USR1/USR2 apply to every node (1: one [node], as without the flag)")
	seed := fs.Int64("seed", 0, SeedHelp)
	sharedKey := fs.Bool("shared-key", false, "node2 also holds and loads a copy of node1's first key file: one identity on two nodes, the fleet mistake the dashboard should flag (needs --nodes 2 or more)")
	common.UsageNotes(fs, simSignalHelp)
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	if err := CheckSimFlags(*ids, *speed); err != nil {
		return common.Fail(stderr, err)
	}
	if err := CheckFleetFlags(*nodes, *sharedKey); err != nil {
		return common.Fail(stderr, err)
	}
	if err := checkEmptyDir(*dir); err != nil {
		return common.Fail(stderr, err)
	}
	ctx, stop := common.SignalContext()
	defer stop()
	// Before the node starts, so an early USR1 or USR2 is not fatal.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)
	o := history.Apply(sim.Options{IDs: *ids, Dir: *dir, Speed: *speed, Demo: *demo, RealServices: *real, Seed: FreshSeed(*seed), FlowFolders: true, Now: g.Clock.Now})
	f, err := StartFleet(ctx, *nodes, o, *sharedKey)
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer f.Close()
	path := *out
	if path == "" {
		path = filepath.Join(f.Root, "postdeck.toml")
	}
	one := func(l sim.Layout) (*config.Config, error) { return ConfigFromLayout(l), nil }
	if *real {
		// The services exit with the simulator (--watch-pid): they are its.
		// With --demo, the demo's config: `postdeck plan` on it says which
		// proof misses the gap and why.
		realConfig := RealServicesConfig
		if *demo {
			realConfig = DemoConfig
		}
		one = func(l sim.Layout) (*config.Config, error) { return realConfig(l, SelfBinary(), *speed, os.Getpid()) }
	}
	cfg, err := f.Config(one)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if *real {
		cfg.Proving.Auto = false // try start and stop by hand; `a` turns it on
	}
	if err := config.WriteFile(path, config.Render(cfg), true); err != nil {
		return common.Fail(stderr, err)
	}
	// The seed, so that a world worth a second look can be had again.
	pid := fmt.Sprint(os.Getpid())
	summary := strings.NewReplacer("CONFIG", path, "PID", pid).Replace(f.summary())
	fmt.Fprintf(stdout, "%skeys from seed %d (--seed %d makes the same ones again)\nconfig written to %s\ntry: postdeck status --config %s\nCtrl-C stops the simulator.\n%s",
		summary, o.Seed, o.Seed, path, path, strings.ReplaceAll(simSignalHelp, "PID", pid))
	if len(f.Sims) > 1 {
		fmt.Fprintln(stdout, "With several nodes each signal stops or starts every node.")
	}
	for {
		select {
		case <-ctx.Done():
			return 0
		case sig := <-sigs:
			f.signal(sig, stdout, stderr)
		}
	}
}

// summary says where each node listens: one node as the simulator always
// said it, several each under its name.
func (f *Fleet) summary() string {
	var b strings.Builder
	if len(f.Sims) > 1 {
		fmt.Fprintf(&b, "simulated fleet of %d nodes\n", len(f.Sims))
	}
	indent := ""
	for i, s := range f.Sims {
		l := s.Layout()
		if len(f.Sims) > 1 {
			fmt.Fprintf(&b, "  %s with %d identities in %s\n", f.Names[i], len(l.Services), filepath.Dir(l.DataFolder))
			indent = "  "
		} else {
			fmt.Fprintf(&b, "simulated node with %d identities\n", len(l.Services))
		}
		fmt.Fprintf(&b, "%s  public  %s\n%s  private %s\n%s  post    %s\n", indent, l.PublicListener, indent, l.PrivateListener, indent, l.PostListener)
	}
	if f.SharedKey != "" {
		fmt.Fprintf(&b, "node2 also loads node1's %s: one identity on two nodes\n", filepath.Base(f.SharedKey))
	}
	if newPost, oldNode, data := f.Flows(); newPost != "" {
		fmt.Fprintf(&b, "a PoST folder with a key the node does not have: %s\n  try: postdeck keys add %s --config CONFIG\n", newPost, newPost)
		fmt.Fprintf(&b, "an old node's data folder to merge: %s\n  try: postdeck merge --from %s --to %s --dry-run --config CONFIG\n", oldNode, oldNode, data)
		fmt.Fprintf(&b, "  (merge refuses while the node runs: kill -USR1 PID first; kill -USR2 PID then loads the keys added or merged)\n")
	}
	return b.String()
}

// signal passes a USR1 or USR2 to every node, naming each when there are
// several.
func (f *Fleet) signal(sig os.Signal, stdout, stderr io.Writer) {
	for i, s := range f.Sims {
		who := ""
		if len(f.Sims) > 1 {
			who = f.Names[i] + ": "
		}
		nodeSignal(s, sig, who, s.Layout().DataFolder, stdout, stderr)
	}
}

// simSignalHelp is how to restart the simulated node; PID stands for the
// simulator's process id.
const simSignalHelp = `Restart the node like a real one while the simulator keeps its folders:
  kill -USR1 PID
      stops the node: its gRPC listeners close (merge and the wizard see it stopped)
  kill -USR2 PID
      starts it again on the same addresses and, as a node does at start-up, loads every
      valid identities/*.key it has not loaded (--demo's unloaded key too), IDLE at first
`

// nodeSignal stops (SIGUSR1) or starts (SIGUSR2) the simulated node and says
// what it did, after who ("" for the only node).
func nodeSignal(s *sim.Sim, sig os.Signal, who, dataFolder string, stdout, stderr io.Writer) {
	say := func(w io.Writer, format string, args ...any) {
		name := "SIGUSR1"
		if sig == syscall.SIGUSR2 {
			name = "SIGUSR2"
		}
		fmt.Fprintf(w, "%s: %s%s\n", name, who, fmt.Sprintf(format, args...))
	}
	switch sig {
	case syscall.SIGUSR1:
		if !s.NodeRunning() {
			say(stdout, "the node is already stopped; SIGUSR2 starts it")
			return
		}
		if err := s.StopNode(); err != nil {
			say(stderr, "stop the node: %v", err)
			return
		}
		say(stdout, "node stopped; %s is kept; SIGUSR2 starts it", dataFolder)
	case syscall.SIGUSR2:
		if s.NodeRunning() {
			say(stdout, "the node is already running; no keys reloaded (SIGUSR1 stops it first)")
			return
		}
		loaded, err := s.RestartNode()
		if err != nil {
			say(stderr, "start the node: %v", err)
			return
		}
		if len(loaded) == 0 {
			say(stdout, "node started; no new keys in %s", filepath.Join(dataFolder, "identities"))
			return
		}
		say(stdout, "node started; loaded %d new key(s): %s", len(loaded), strings.Join(loaded, ", "))
	}
}

// checkEmptyDir refuses a --dir that already holds files: the simulator
// writes fresh keys there, and stray ones left from an earlier run would
// show up as identities.
func checkEmptyDir(dir string) error {
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err == nil && len(entries) > 0 {
		return fmt.Errorf("--dir %s is not empty: give a new or empty folder (the simulator writes fresh keys and PoST dirs there)", dir)
	}
	return nil
}

// historyEpochs maps the flag (0: none) to sim.Options (0: the default,
// negative: none).
func historyEpochs(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// HistoryFlags are the flags of the simulated node's history, which sim and
// demo share.
type HistoryFlags struct {
	epochs               *int
	malicious, withoutV2 *bool
}

// AddHistoryFlags defines --history-epochs, --malicious (default malicious)
// and --without-v2 on fs.
func AddHistoryFlags(fs *flag.FlagSet, malicious bool) HistoryFlags {
	return HistoryFlags{
		epochs:    fs.Int("history-epochs", sim.DefaultHistoryEpochs, "past epochs of ATXs and rewards the node keeps (0: none)"),
		malicious: fs.Bool("malicious", malicious, "give one identity a malfeasance proof (banned for good)"),
		withoutV2: fs.Bool("without-v2", false, "a node that does not serve the v2alpha1 history services"),
	}
}

// Apply sets the flags' values in o and returns it.
func (h HistoryFlags) Apply(o sim.Options) sim.Options {
	o.HistoryEpochs, o.Malicious, o.WithoutV2 = historyEpochs(*h.epochs), *h.malicious, *h.withoutV2
	return o
}
