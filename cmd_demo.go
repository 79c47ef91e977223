package main

import (
	"context"
	"fmt"
	"io"

	"postdeck/backend"
	"postdeck/sim"
)

// cmdDemo runs the simulator in-process and opens the dashboard on it: no
// config, no files the user has to make.
func cmdDemo(g *globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo", g, stderr)
	ids := fs.Int("ids", 12, "number of simulated identities")
	speed := fs.Float64("speed", 1, "how fast the simulated proving cycle runs")
	if _, code, ok := parseArgs(fs, g, args, false); !ok {
		return code
	}
	if err := checkSimFlags(*ids, *speed); err != nil {
		return fail(stderr, err)
	}
	s, err := sim.Start(context.Background(), sim.Options{IDs: *ids, Speed: *speed, Demo: true, Seed: 1})
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	cfg := configFromLayout(s.Layout())
	applyGlobals(cfg, g)
	return dashboard(cfg, "postdeck — demo (simulated node)", stderr)
}

// checkSimFlags rejects simulator sizes and speeds that mean nothing.
func checkSimFlags(ids int, speed float64) error {
	switch {
	case ids < 1:
		return fmt.Errorf("--ids %d: the simulator needs at least 1 identity", ids)
	case speed <= 0:
		return fmt.Errorf("--speed %g: must be above 0 (1 is the demo's pace, 10 is ten times faster)", speed)
	}
	return nil
}

// configFromLayout points a config at a running simulator.
func configFromLayout(l sim.Layout) *backend.Config {
	cfg := &backend.Config{Node: backend.NodeConfig{
		PostListener:    l.PostListener,
		PrivateListener: l.PrivateListener,
		PublicListener:  l.PublicListener,
		DataFolder:      l.DataFolder,
	}}
	for _, svc := range l.Services {
		cfg.Services = append(cfg.Services, backend.ServiceConfig{Name: svc.Name, Dir: svc.Dir, Operator: svc.Operator})
	}
	backend.ApplyDefaults(cfg)
	return cfg
}
