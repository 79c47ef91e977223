package main

import (
	"context"
	"fmt"
	"io"
	"os"
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
	s, err := openSession(cfg, clk)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	ctl, err := s.control(ctx, cfg, stateDir)
	if err != nil {
		cancel()
		return fail(stderr, err)
	}
	stopExtras, err := attachExtras(ctx, s, cfg, stateDir, metricsListen)
	if err != nil {
		cancel()
		return fail(stderr, err)
	}
	feed, unsubscribe := s.poller.Subscribe()
	defer unsubscribe()
	polling := make(chan struct{})
	go func() { s.poller.Run(ctx); close(polling) }()
	// On the way out: stop polling (no new actions), then let actions under
	// way end — they see the cancelled context and give up their waits.
	defer func() {
		cancel()
		<-polling
		ctl.Wait()
		stopExtras()
	}()

	m := ui.New(ui.Options{
		Snapshots: feed,
		Theme:     themes.ByName(cfg.UI.Theme, os.Getenv("NO_COLOR") != ""),
		Interval:  cfg.Poll.Interval.Duration,
		Title:     title,
		Now:       clk.Now,
		Actions:   ctl,
		Config:    cfg,
	})
	if _, err := tea.NewProgram(m, tea.WithContext(ctx)).Run(); err != nil {
		if strings.Contains(err.Error(), "TTY") {
			err = fmt.Errorf("the dashboard needs a terminal (%v); in scripts use `postdeck status`", err)
		}
		return fail(stderr, err)
	}
	return 0
}
