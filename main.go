// Command postdeck is a terminal dashboard for Spacemesh smeshers who run many
// post-services against one go-spacemesh node. main.go holds only the command
// line and the wiring; the work is in model/, backend/, ui/ and sim/.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"postdeck/clock"
	"postdeck/themes"
)

const usage = `postdeck — one dashboard for every PoST identity on your Spacemesh node

Usage:
  postdeck [flags]                  open the dashboard on the configured node
  postdeck demo [flags]             open the dashboard on a built-in simulated node
  postdeck status [--json] [flags]  print one snapshot; exit 2 when an identity is critical
  postdeck init [init flags]        write a config file from the node's config and running services
  postdeck start NAME…               start post-services (NAME: service or key file name)
  postdeck stop NAME… [--when-safe|--force]
                                    stop post-services; refuses (exit 3) when that would throw away a proof
  postdeck restart NAME…             stop (only if safe) and start again
  postdeck logs NAME [-f] [-n N]     print a service's log; -f follows it
  postdeck keys add|list|check      add a PoST dir's identity.key to the node, list keys, confirm after a restart
  postdeck migrate                  the migration wizard: merge old nodes' identities into the configured node
  postdeck merge --from OLD_NODE_DATA --to NODE_DATA [--dry-run] [--yes] | --recover --to NODE_DATA
  postdeck serve --authorized-keys FILE [--listen :2222] [--readonly-keys FILE] [--host-key PATH]
                [--idle-timeout 30m] [--metrics-listen ADDR]
                                    serve the dashboard over SSH (public keys only; actions audited)
  postdeck sim [--ids N] [--dir D]  run the simulated node headless and write a config for it
  postdeck sim-service --address URL --dir D [--operator-address A] [post-service flags] [--speed X]
                                    run one simulated post-service (post-rs's command line);
                                    postdeck started under the name post-service does the same
  postdeck version

Flags (accepted before or after the subcommand):
`

// globals are the flags every subcommand takes.
type globals struct {
	config   string
	interval time.Duration
	timeout  time.Duration
	theme    string
	// clock is what time it is for everything postdeck shows and decides by
	// the calendar: the machine's, or the one POSTDECK_NOW sets (tests,
	// demos), read once in run.
	clock clock.Clock
	// metricsListen serves Prometheus metrics on this address; "" = off.
	// A flag of the commands that keep a poller running (the dashboard;
	// serve has its own of the same name).
	metricsListen string
}

func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.config, "config", g.config, "config file (default $XDG_CONFIG_HOME/postdeck/config.toml)")
	fs.DurationVar(&g.interval, "interval", g.interval, "poll interval (default 2s, or the config's)")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "per-call timeout for operator endpoints (default 1s, or the config's)")
	fs.StringVar(&g.theme, "theme", g.theme, "colour theme: dark or light (NO_COLOR turns colour off)")
}

// errUsage marks an error whose message is already complete for the user.
var errUsage = errors.New("usage")

func main() {
	// No soft memory limit: postdeck runs beside a prover, and a limit below
	// the live heap makes the collector run back to back (a whole core at
	// 1000 identities, measured). Memory is kept small at its source instead
	// (docs/BENCHMARKS.md); GOMEMLIMIT and GOGC apply as usual.
	args := os.Args[1:]
	// Started under the name post-service (the demo links <tmp>/bin/post-service
	// to postdeck), postdeck is a simulated post-service taking post-rs's
	// arguments, so the process looks exactly like a real one in /proc and ps.
	if filepath.Base(os.Args[0]) == "post-service" {
		args = append([]string{"sim-service"}, args...)
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// run parses the command line and dispatches; it returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	clk, err := clock.FromEnv()
	if err != nil {
		return fail(stderr, err)
	}
	g := &globals{clock: clk}
	top := newFlagSet("postdeck", g, stderr)
	if err := top.Parse(args); err != nil {
		return exitForFlagErr(err)
	}
	rest := top.Args()
	cmd := ""
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	commands := map[string]func(*globals, []string, io.Writer, io.Writer) int{
		"":            cmdDashboard,
		"demo":        cmdDemo,
		"status":      cmdStatus,
		"init":        cmdInit,
		"sim":         cmdSim,
		"sim-service": cmdSimService,
		"start":       cmdStart,
		"stop":        cmdStop,
		"restart":     cmdRestart,
		"logs":        cmdLogs,
		"merge":       cmdMerge,
		"keys":        cmdKeys,
		"migrate":     cmdMigrate,
		"serve":       cmdServe,
		"version": func(*globals, []string, io.Writer, io.Writer) int {
			fmt.Fprintln(stdout, "postdeck", version)
			return 0
		},
		"help": func(*globals, []string, io.Writer, io.Writer) int { top.SetOutput(stdout); top.Usage(); return 0 },
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "postdeck: unknown command %q (try: postdeck help)\n", cmd)
		return 1
	}
	return f(g, rest, stdout, stderr)
}

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newFlagSet(name string, g *globals, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	g.register(fs)
	if name == "postdeck" || name == "dashboard" {
		fs.StringVar(&g.metricsListen, "metrics-listen", g.metricsListen,
			"serve Prometheus metrics at http://`ADDR`/metrics (host:port, such as 127.0.0.1:9101) while the dashboard runs")
	}
	fs.Usage = func() {
		if name == "postdeck" {
			fmt.Fprint(fs.Output(), usage)
		} else {
			fmt.Fprintf(fs.Output(), "Usage of postdeck %s:\n", name)
		}
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses a subcommand's arguments and checks the global flags'
// values. Words that are not flags are names when the command takes names
// (flags may come before, between or after them); otherwise a stray word is
// an error, since every flag after it would silently be ignored. It returns
// the names, or ok=false with the exit code.
func parseArgs(fs *flag.FlagSet, g *globals, args []string, takesNames bool) (names []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			return nil, exitForFlagErr(err), false
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
func (g *globals) validate() error {
	switch {
	case g.interval < 0:
		return fmt.Errorf("--interval %s: must be positive, like 2s", g.interval)
	case g.timeout < 0:
		return fmt.Errorf("--timeout %s: must be positive, like 1s", g.timeout)
	case g.theme != "" && !themes.Valid(g.theme):
		return fmt.Errorf("--theme %q: choose one of %s", g.theme, strings.Join(themes.Names(), ", "))
	}
	return nil
}

func exitForFlagErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 1
}
