// Package common is what every postdeck subcommand is handed (soft-serve's
// Common): the global flags, the clock, how a command parses its arguments
// and reports a failure, and the wiring of a session (session.go).
package common

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"postdeck/clock"
	"postdeck/themes"
)

// Common holds the flags every subcommand takes.
type Common struct {
	Config   string
	Interval time.Duration
	Timeout  time.Duration
	Theme    string
	// Clock is what time it is for everything postdeck shows and decides by
	// the calendar: the machine's, or the one POSTDECK_NOW sets (tests,
	// demos), read once in main.
	Clock clock.Clock
	// MetricsListen serves Prometheus metrics on this address; "" = off.
	// A flag of the commands that keep a poller running (the dashboard;
	// serve has its own of the same name).
	MetricsListen string
}

func (g *Common) register(fs *flag.FlagSet) {
	fs.StringVar(&g.Config, "config", g.Config, "config file (default $XDG_CONFIG_HOME/postdeck/config.toml)")
	fs.DurationVar(&g.Interval, "interval", g.Interval, "poll interval (default 2s, or the config's)")
	fs.DurationVar(&g.Timeout, "timeout", g.Timeout, "per-call timeout for operator endpoints (default 1s, or the config's)")
	fs.StringVar(&g.Theme, "theme", g.Theme, "colour theme: dark or light (NO_COLOR turns colour off)")
}

// NewFlagSet is a subcommand's flag set with the global flags on it, so they
// are accepted before or after the subcommand. The top level ("postdeck")
// and the dashboard also take --metrics-listen.
func NewFlagSet(name string, g *Common, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	if name == "postdeck" || name == "dashboard" {
		fs.StringVar(&g.MetricsListen, "metrics-listen", g.MetricsListen,
			"serve Prometheus metrics at http://`ADDR`/metrics (host:port, such as 127.0.0.1:9101) while the dashboard runs")
	}
	setUsage(fs, "")
	return fs
}

// ParseArgs parses a subcommand's arguments and checks the global flags'
// values. Words that are not flags are names when the command takes names
// (flags may come before, between or after them); otherwise a stray word is
// an error, since every flag after it would silently be ignored. It returns
// the names, or ok=false with the exit code.
func ParseArgs(fs *flag.FlagSet, g *Common, args []string, takesNames bool) (names []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, ExitForFlagErr(err), false
		}
		if fs.NArg() == 0 {
			break
		}
		if !takesNames {
			fmt.Fprintf(fs.Output(), "postdeck %s: unexpected argument %q (flags start with --; see --help)\n", fs.Name(), fs.Arg(0))
			return nil, 1, false
		}
		names = append(names, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if err := g.validate(); err != nil {
		fmt.Fprintf(fs.Output(), "postdeck %s: %v\n", fs.Name(), err)
		return nil, 1, false
	}
	return names, 0, true
}

// validate checks the global flags, naming the flag at fault.
func (g *Common) validate() error {
	switch {
	case g.Interval < 0:
		return fmt.Errorf("--interval %s: must be positive, like 2s", g.Interval)
	case g.Timeout < 0:
		return fmt.Errorf("--timeout %s: must be positive, like 1s", g.Timeout)
	case g.Theme != "" && !themes.Valid(g.Theme):
		return fmt.Errorf("--theme %q: choose one of %s", g.Theme, strings.Join(themes.Names(), ", "))
	}
	return nil
}

// ExitForFlagErr is the exit code of a flag parse error: 0 for --help.
func ExitForFlagErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}

// Fail prints an error for the user and returns the usage/config exit code.
func Fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "postdeck:", err)
	return 1
}

// SignalContext is cancelled on Ctrl-C / SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Dash stands in for an empty cell of a printed table.
func Dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
