package dashboard

import (
	"context"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"postdeck/backend/config"
	"postdeck/backend/proc"
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
	return With(g, cfg, ui.Options{Title: "postdeck — " + cfg.Path}, proc.DefaultStateDir(), stderr)
}

// With runs the poller, the controller, the extras (events, cycle
// countdown, alerts, metrics on g's --metrics-listen when set) and the
// TUI until the user quits, all on g's clock. Services it started keep
// running after it: they are detached. A config read from a file is read
// again on ctrl+r and on SIGHUP (see live). look is what the caller
// says of the screen (Title; Demo for the simulator's); With sets the rest.
func With(g *common.Common, cfg *config.Config, look ui.Options, stateDir string, stderr io.Writer) int {
	oneProcessor()
	if err := common.NeedTerminal("the dashboard", "; in scripts use `postdeck status`"); err != nil {
		return common.Fail(stderr, err)
	}
	l, err := openLive(g, cfg, stateDir, g.MetricsListen)
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer l.close()
	opts := ui.Options{
		Snapshots: l.out,
		Theme:     themes.ByName(cfg.UI.Theme, os.Getenv("NO_COLOR") != ""),
		Interval:  cfg.Poll.Interval.Duration,
		Title:     look.Title,
		Demo:      look.Demo,
		Now:       g.Clock.Now,
		Actions:   l,
		Config:    cfg,
	}
	if cfg.Path != "" {
		opts.Reload = l.reload
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prog := tea.NewProgram(ui.New(opts), tea.WithContext(ctx))
	if opts.Reload != nil {
		tty := term.IsTerminal(os.Stdin.Fd())
		stop := onHangup(func() {
			// A SIGHUP is also what a terminal that hung up (a dropped SSH
			// login, a closed window) sends: then leave, as a program that
			// does not reload on SIGHUP would, instead of running on
			// without a screen.
			if tty && !term.IsTerminal(os.Stdin.Fd()) {
				prog.Quit()
				return
			}
			c, w, err := l.reload()
			prog.Send(ui.ReloadedMsg{Config: c, Warnings: w, Err: err})
		})
		defer stop()
	}
	if _, err := prog.Run(); err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}

// onHangup calls f on each SIGHUP (the way daemons are told to read their
// config again, and the way a terminal says it hung up) until stop.
func onHangup(f func()) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-sigs:
				f()
			}
		}
	}()
	return func() { signal.Stop(sigs); close(done) }
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
