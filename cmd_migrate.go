package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
	"postdeck/ui"
)

// cmdMigrate opens the migration wizard full-screen: the guide's steps for
// moving old nodes' identities onto the configured node. When it ends it
// prints what was and was not done.
func cmdMigrate(g *globals, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("migrate", g, stderr)
	if _, code, ok := parseArgs(fs, g, args, false); !ok {
		return code
	}
	cfg, err := loadConfig(g, stderr)
	if err != nil {
		return fail(stderr, err)
	}
	s, err := openSession(cfg, g.clock)
	if err != nil {
		return fail(stderr, err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed, unsubscribe := s.poller.Subscribe()
	defer unsubscribe()
	go s.poller.Run(ctx) // step 8 checks the node's identities in its snapshots

	m := ui.New(ui.Options{
		Snapshots: feed,
		Theme:     themes.ByName(cfg.UI.Theme, os.Getenv("NO_COLOR") != ""),
		Interval:  cfg.Poll.Interval.Duration,
		Title:     "postdeck migrate — " + cfg.Path,
		Now:       g.clock.Now,
		Config:    cfg,
		Migrate:   true,
	})
	_, err = tea.NewProgram(m, tea.WithContext(ctx)).Run()
	fmt.Fprint(stdout, m.MigrationReport())
	if err != nil {
		if strings.Contains(err.Error(), "TTY") {
			err = fmt.Errorf("the migration wizard needs a terminal (%v)", err)
		}
		return fail(stderr, err)
	}
	return 0
}
