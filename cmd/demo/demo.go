package demo

import (
	"context"
	"io"
	"os"
	"path/filepath"

	"postdeck/clock"
	"postdeck/cmd/common"
	"postdeck/cmd/dashboard"
	"postdeck/cmd/simcmd"
	"postdeck/sim"
)

// Run runs a simulated node in-process and opens the dashboard on it: no
// config, no files the user has to make. The post-services are real
// processes (this binary acting as post-service), started and stopped by
// postdeck's supervisor with automatic proving on, so every action works.
// The node keeps a history of past epochs (the ledger and its why-lines
// have something to show), one identity is malicious, and the plan misses
// a proof on the crowded disk1 (simcmd.DemoConfig). Told no date
// (POSTDECK_NOW), it runs in the next cycle gap (sim.ProvingDate).
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("demo", g, stderr)
	ids := fs.Int("ids", 12, "number of simulated identities")
	speed := fs.Float64("speed", 1, "how fast the simulated proving cycle runs")
	history := simcmd.AddHistoryFlags(fs, true)
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	if err := simcmd.CheckSimFlags(*ids, *speed); err != nil {
		return common.Fail(stderr, err)
	}
	if !g.Clock.Moved() {
		// The simulated cycle proves all the time: on a date in a cycle gap
		// its proofs, ATXs and why-lines agree with the calendar.
		g.Clock = clock.Starting(sim.ProvingDate(g.Clock.Now()))
	}
	s, err := sim.Start(context.Background(), history.Apply(sim.Options{IDs: *ids, Speed: *speed, Demo: true, RealServices: true, Seed: 1, Now: g.Clock.Now}))
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer s.Close()
	l := s.Layout()
	cfg, err := simcmd.DemoConfig(l, simcmd.SelfBinary(), *speed, os.Getpid())
	if err != nil {
		return common.Fail(stderr, err)
	}
	common.ApplyGlobals(cfg, g)
	// The demo's state (pid files, logs) lives in the sim's temp folder, never
	// in the user's own state folder.
	return dashboard.With(cfg, g.Clock, "postdeck — demo (simulated node)", filepath.Join(filepath.Dir(l.DataFolder), "state"), g.MetricsListen, stderr)
}
