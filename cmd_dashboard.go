package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend"
	"postdeck/clock"
	"postdeck/themes"
	"postdeck/ui"
)

// cmdDashboard opens the dashboard on the configured node.
func cmdDashboard(g *globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("dashboard", g, stderr)
	if _, code, ok := parseArgs(fs, g, args, false); !ok {
		return code
	}
	cfg, err := loadConfig(g, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	return dashboardWith(cfg, g.clock, "postdeck — "+cfg.Path, backend.DefaultStateDir(), g.metricsListen, stderr)
}

// dashboardWith runs the poller, the controller, the extras (events, cycle
// countdown, alerts, metrics on metricsListen when set) and the TUI until
// the user quits, all on clk. Services it started keep running after it:
// they are detached.
func dashboardWith(cfg *backend.Config, clk clock.Clock, title, stateDir, metricsListen string, stderr io.Writer) int {
	oneProcessor()
	s, err := openSession(cfg, clk)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	// Subscribed before the poller starts, so the first snapshot is seen.
	feed, unsubscribe := s.poller.Subscribe()
	defer unsubscribe()
	lv, err := s.startLive(cfg, stateDir, metricsListen)
	if err != nil {
		return fail(stderr, err)
	}
	defer lv.stop()

	m := ui.New(ui.Options{
		Snapshots: feed,
		Theme:     themes.ByName(cfg.UI.Theme, os.Getenv("NO_COLOR") != ""),
		Interval:  cfg.Poll.Interval.Duration,
		Title:     title,
		Now:       clk.Now,
		Actions:   lv.ctl,
		Config:    cfg,
	})
	if _, err := tea.NewProgram(m, tea.WithContext(lv.ctx)).Run(); err != nil {
		if strings.Contains(err.Error(), "TTY") {
			err = fmt.Errorf("the dashboard needs a terminal (%v); in scripts use `postdeck status`", err)
		}
		return fail(stderr, err)
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
