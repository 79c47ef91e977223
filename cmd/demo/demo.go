package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"postdeck/backend/config"
	"postdeck/clock"
	"postdeck/cmd/common"
	"postdeck/cmd/dashboard"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
	"postdeck/ui"
)

// Run runs a simulated node in-process and opens the dashboard on it: no
// config, no files the user has to make. The post-services are real
// processes (this binary acting as post-service), started and stopped by
// postdeck's supervisor with automatic proving on, so every action works.
// The node keeps a history of past epochs (the ledger and its why-lines
// have something to show) and the plan misses a proof on the crowded disk1
// (simcmd.DemoConfig), a warning: the demo starts with no critical row.
// A malicious identity, which is critical for good, is opt-in (--malicious),
// so two demos side by side look alike. Its folder, named in
// the title, holds a PoST folder with a key to add and an old node's data
// folder to merge (sim.Options.FlowFolders). Told no date
// (POSTDECK_NOW), it runs an hour into a cycle gap (sim.ProvingDate). With
// --nodes, several such nodes, and node2 also loads one of node1's keys.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("demo", g, stderr)
	ids := fs.Int("ids", 12, "number of simulated identities")
	speed := fs.Float64("speed", 1, "how fast the simulated proving cycle runs")
	nodes := fs.Int("nodes", 1, "number of simulated nodes, --ids identities each; with 2 or more, node2 also loads a copy of one of node1's keys (one identity on two nodes, the costliest fleet mistake)")
	seed := fs.Int64("seed", 0, simcmd.SeedHelp)
	history := simcmd.AddHistoryFlags(fs, false)
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	if err := simcmd.CheckSimFlags(*ids, *speed); err != nil {
		return common.Fail(stderr, err)
	}
	if err := simcmd.CheckFleetFlags(*nodes, false); err != nil {
		return common.Fail(stderr, err)
	}
	if !g.Clock.Moved() {
		// The simulated cycle proves all the time: on a date in a cycle gap
		// its proofs, ATXs and why-lines agree with the calendar.
		g.Clock = clock.Starting(sim.ProvingDate(g.Clock.Now()))
	}
	f, cfg, err := start(*nodes, history.Apply(sim.Options{IDs: *ids, Speed: *speed, Demo: true, RealServices: true, Seed: simcmd.FreshSeed(*seed), FlowFolders: true, Now: g.Clock.Now}))
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer f.Close()
	common.ApplyGlobals(cfg, g)
	// The folder in the title: it holds the PoST folder with a key to add
	// (new-post/) and the old node to merge (old-node/), node1/'s with
	// several nodes, and the node's data folder to add and merge into;
	// without its name they cannot be tried from another terminal.
	title := fmt.Sprintf("postdeck — demo (simulated node in %s)", f.Root)
	if *nodes > 1 {
		title = fmt.Sprintf("postdeck — demo (%d simulated nodes in %s)", *nodes, f.Root)
	}
	// The demo's state (pid files, logs) lives in the sim's temp folder, never
	// in the user's own state folder.
	return dashboard.With(g, cfg, ui.Options{Title: title, Demo: true}, filepath.Join(f.Root, "state"), stderr)
}

// start runs the demo's nodes from o and makes their config: the demo's
// (simcmd.DemoConfig) for each node, with its services exiting with this
// process. Several nodes share a key (simcmd.StartFleet's sharedKey), so
// the dashboard has the fleet's costliest mistake to show.
func start(nodes int, o sim.Options) (*simcmd.Fleet, *config.Config, error) {
	f, err := simcmd.StartFleet(context.Background(), nodes, o, nodes > 1)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := f.Config(func(l sim.Layout) (*config.Config, error) {
		return simcmd.DemoConfig(l, simcmd.SelfBinary(), o.Speed, os.Getpid())
	})
	if err != nil {
		return nil, nil, errors.Join(err, f.Close())
	}
	return f, cfg, nil
}
