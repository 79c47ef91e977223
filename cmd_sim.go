package main

import (
	"fmt"
	"io"
	"path/filepath"

	"postdeck/backend"
	"postdeck/sim"
)

// cmdSim runs the simulated node headless and writes a ready-to-use config,
// for tests and for trying the command line without a node.
func cmdSim(g *globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("sim", g, stderr)
	ids := fs.Int("ids", 12, "number of simulated identities")
	dir := fs.String("dir", "", "folder for the simulated node data and PoST dirs (default: a temp folder, removed on exit)")
	out := fs.String("config-out", "", "where to write the config (default DIR/postdeck.toml)")
	speed := fs.Float64("speed", 1, "how fast the simulated proving cycle runs")
	demo := fs.Bool("demo", false, "add the demo's problem cases (no service, stuck proof, unloaded key)")
	if _, code, ok := parseArgs(fs, g, args, false); !ok {
		return code
	}
	if err := checkSimFlags(*ids, *speed); err != nil {
		return fail(stderr, err)
	}
	ctx, stop := signalContext()
	defer stop()
	s, err := sim.Start(ctx, sim.Options{IDs: *ids, Dir: *dir, Speed: *speed, Demo: *demo, Seed: 1})
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	l := s.Layout()
	path := *out
	if path == "" {
		path = filepath.Join(filepath.Dir(l.DataFolder), "postdeck.toml")
	}
	if err := backend.WriteConfigFile(path, backend.RenderConfig(configFromLayout(l)), true); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "simulated node with %d identities\n  public  %s\n  private %s\n  post    %s\nconfig written to %s\ntry: postdeck status --config %s\nCtrl-C stops the simulator.\n",
		len(l.Services), l.PublicListener, l.PrivateListener, l.PostListener, path, path)
	<-ctx.Done()
	return 0
}
