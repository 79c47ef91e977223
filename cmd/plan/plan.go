// Package plan is `postdeck plan`: the deadline plan of the coming cycle gap.
package plan

import (
	"fmt"
	"io"

	"postdeck/backend"
	"postdeck/cmd/common"
)

// Run polls once and prints when each proof of the coming cycle gap will
// finish if automatic proving starts them in its order, and which will miss
// the gap and why. Exit code: 0 when all fit, 2 when one will miss, 1 on
// usage or config errors.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("plan", g, stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	once, code, ok := common.PollOnce(g, fs, args, stderr)
	if !ok {
		return code
	}
	defer once.Session.Close()
	cfg, snap, clk := once.Config, once.Snap, once.Session.Clock
	backend.NewCycleWatcher(backend.TimingOf(&cfg.Timing), clk.Now).Hook(&snap)
	backend.NewPlanner(cfg, clk.Now).Hook(&snap)
	if snap.Plan == nil {
		return common.Fail(stderr, fmt.Errorf("the cycle gap is not known: check [timing] in %s", cfg.Path))
	}
	p := snap.Plan
	if *asJSON {
		if err := common.WriteJSON(stdout, p.Doc()); err != nil {
			return common.Fail(stderr, err)
		}
	} else {
		printPlan(stdout, p, snap.Cycle.Source)
	}
	if p.Misses > 0 {
		return 2
	}
	return 0
}
