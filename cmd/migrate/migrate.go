package migrate

import (
	"fmt"
	"io"
	"os"

	tea "charm.land/bubbletea/v2"

	"postdeck/cmd/common"
	"postdeck/themes"
	"postdeck/ui"
)

// Run opens the migration wizard full-screen: the guide's steps for
// moving old nodes' identities onto the configured node. When it ends it
// prints what was and was not done.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("migrate", g, stderr)
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	cfg, err := common.LoadConfig(g, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if err := common.NeedTerminal("the migration wizard", ""); err != nil {
		return common.Fail(stderr, err)
	}
	s, err := common.OpenSession(cfg, g.Clock)
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer s.Close()
	feed := s.Subscribe()
	s.Run() // step 8 checks the node's identities in its snapshots

	m := ui.New(ui.Options{
		Snapshots: feed,
		Theme:     themes.ByName(cfg.UI.Theme, os.Getenv("NO_COLOR") != ""),
		Interval:  cfg.Poll.Interval.Duration,
		Title:     "postdeck migrate — " + cfg.Path,
		Now:       g.Clock.Now,
		Config:    cfg,
		Migrate:   true,
	})
	_, err = tea.NewProgram(m, tea.WithContext(s.Ctx)).Run()
	fmt.Fprint(stdout, m.MigrationReport())
	if err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}
