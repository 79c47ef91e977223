package dashboard

import (
	"io"
	"os"
	"runtime"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/clock"
	"postdeck/cmd/common"
	"postdeck/themes"
	"postdeck/ui"
)

// Run opens the dashboard on the configured node.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("dashboard", g, stderr)
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	cfg, err := common.LoadConfig(g, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	return With(cfg, g.Clock, "postdeck — "+cfg.Path, proc.DefaultStateDir(), g.MetricsListen, stderr)
}

// With runs the poller, the controller, the extras (events, cycle
// countdown, alerts, metrics on metricsListen when set) and the TUI until
// the user quits, all on clk. Services it started keep running after it:
// they are detached.
func With(cfg *config.Config, clk clock.Clock, title, stateDir, metricsListen string, stderr io.Writer) int {
	oneProcessor()
	if err := common.NeedTerminal("the dashboard", "; in scripts use `postdeck status`"); err != nil {
		return common.Fail(stderr, err)
	}
	s, err := common.OpenSession(cfg, clk)
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer s.Close()
	// Subscribed before the poller starts, so the first snapshot is seen.
	feed := s.Subscribe()
	ctl, err := s.Live(stateDir, metricsListen)
	if err != nil {
		return common.Fail(stderr, err)
	}

	m := ui.New(ui.Options{
		Snapshots: feed,
		Theme:     themes.ByName(cfg.UI.Theme, os.Getenv("NO_COLOR") != ""),
		Interval:  cfg.Poll.Interval.Duration,
		Title:     title,
		Now:       clk.Now,
		Actions:   s.Actions(ctl),
		Config:    cfg,
	})
	if _, err := tea.NewProgram(m, tea.WithContext(s.Ctx)).Run(); err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}

// oneProcessor runs the Go scheduler on one processor (GOMAXPROCS=1) unless
// the user set GOMAXPROCS. The dashboard waits on sockets almost all the
// time; with two processors, handing a thousand answers a cycle between
// them (wakeups, work stealing, spinning) cost more than the work: at 1000
// identities 5.4 % of a core against 4.1 % on one, and it can never take
// more than one core from the prover beside it.
func oneProcessor() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}
