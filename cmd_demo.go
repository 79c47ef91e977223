package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"postdeck/backend"
	"postdeck/sim"
)

// cmdDemo runs a simulated node in-process and opens the dashboard on it: no
// config, no files the user has to make. The post-services are real
// processes (this binary acting as post-service), started and stopped by
// postdeck's supervisor with automatic proving on, so every action works.
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
	s, err := sim.Start(context.Background(), sim.Options{IDs: *ids, Speed: *speed, Demo: true, RealServices: true, Seed: 1, Now: g.clock.Now})
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	l := s.Layout()
	cfg, err := realServicesConfig(l, selfBinary(), *speed, os.Getpid())
	if err != nil {
		return fail(stderr, err)
	}
	applyGlobals(cfg, g)
	// The demo's state (pid files, logs) lives in the sim's temp folder, never
	// in the user's own state folder.
	return dashboardWith(cfg, g.clock, "postdeck — demo (simulated node)", filepath.Join(filepath.Dir(l.DataFolder), "state"), g.metricsListen, stderr)
}

// realServicesConfig points a config at a simulator whose post-services are
// real processes: the postdeck binary self under the name post-service,
// which makes it behave as one. With watchPID set, the services exit with
// that process (the demo's services must not outlive the demo). Automatic
// proving is on, with the services spread over four simulated disks.
func realServicesConfig(l sim.Layout, self string, speed float64, watchPID int) (*backend.Config, error) {
	bin := filepath.Join(filepath.Dir(l.DataFolder), "bin", "post-service")
	if err := os.MkdirAll(filepath.Dir(bin), 0o700); err != nil {
		return nil, err
	}
	if err := os.Symlink(self, bin); err != nil && !os.IsExist(err) {
		return nil, err
	}
	cfg := configFromLayout(l)
	cfg.Proving.Auto = true
	cfg.Proving.MaxPerDisk = 1
	for i := range cfg.Services {
		svc := &cfg.Services[i]
		svc.Bin = bin
		svc.Disk = fmt.Sprintf("disk%d", i%4+1)
		svc.RandomXMode = "light"
		svc.Env = map[string]string{"POSTDECK_SIM_SPEED": strconv.FormatFloat(speed, 'f', -1, 64)}
		if watchPID > 0 {
			svc.ExtraArgs = []string{"--watch-pid", strconv.Itoa(watchPID)}
		}
	}
	return cfg, nil
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
