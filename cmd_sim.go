package main

import (
	"fmt"
	"io"
	"os"
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
	real := fs.Bool("real-services", false, "run the post-services as real processes that postdeck starts and stops (start/stop/logs work)")
	if _, code, ok := parseArgs(fs, g, args, false); !ok {
		return code
	}
	if err := checkSimFlags(*ids, *speed); err != nil {
		return fail(stderr, err)
	}
	if err := checkEmptyDir(*dir); err != nil {
		return fail(stderr, err)
	}
	ctx, stop := signalContext()
	defer stop()
	s, err := sim.Start(ctx, sim.Options{IDs: *ids, Dir: *dir, Speed: *speed, Demo: *demo, RealServices: *real, Seed: 1})
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	l := s.Layout()
	path := *out
	if path == "" {
		path = filepath.Join(filepath.Dir(l.DataFolder), "postdeck.toml")
	}
	cfg := configFromLayout(l)
	if *real {
		// The services exit with the simulator (--watch-pid): they are its.
		if cfg, err = realServicesConfig(l, selfBinary(), *speed, os.Getpid()); err != nil {
			return fail(stderr, err)
		}
		cfg.Proving.Auto = false // try start and stop by hand; `a` turns it on
	}
	if err := backend.WriteConfigFile(path, backend.RenderConfig(cfg), true); err != nil {
		return fail(stderr, err)
	}
	fmt.Fprintf(stdout, "simulated node with %d identities\n  public  %s\n  private %s\n  post    %s\nconfig written to %s\ntry: postdeck status --config %s\nCtrl-C stops the simulator.\n",
		len(l.Services), l.PublicListener, l.PrivateListener, l.PostListener, path, path)
	<-ctx.Done()
	return 0
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

// selfBinary is this executable's path, for running it as post-service.
func selfBinary() string {
	self, err := os.Executable()
	if err != nil {
		return os.Args[0]
	}
	return self
}
