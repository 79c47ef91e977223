// Command postdeck is a terminal dashboard for Spacemesh smeshers who run many
// post-services against one go-spacemesh node. main.go parses the command line
// and dispatches; each subcommand lives in a package under cmd/, and the
// work is in model/, backend/, ui/ and sim/.
package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"postdeck/clock"
	"postdeck/cmd/common"
	"postdeck/cmd/dashboard"
	"postdeck/cmd/demo"
	"postdeck/cmd/history"
	"postdeck/cmd/initcmd"
	"postdeck/cmd/keys"
	"postdeck/cmd/mergecmd"
	"postdeck/cmd/migrate"
	"postdeck/cmd/plan"
	"postdeck/cmd/serve"
	"postdeck/cmd/service"
	"postdeck/cmd/simcmd"
	"postdeck/cmd/status"
	"postdeck/cmd/versioncmd"
)

// usageHead is the top of `postdeck help`; the list of commands under it
// is common.TopUsage, from the same table as each command's --help.
const usageHead = `postdeck — one dashboard for every PoST identity on your Spacemesh node

Usage:
`

// usageFlags heads the global flags, which PrintDefaults lists.
const usageFlags = `
Flags (accepted before or after the subcommand):
`

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
		return common.Fail(stderr, err)
	}
	g := &common.Common{Clock: clk}
	top := common.NewFlagSet("postdeck", g, stderr)
	top.Usage = func() {
		fmt.Fprint(top.Output(), usageHead+common.TopUsage()+usageFlags)
		top.PrintDefaults()
	}
	if err := top.Parse(args); err != nil {
		return common.ExitForFlagErr(err)
	}
	rest := top.Args()
	cmd := ""
	if len(rest) > 0 {
		cmd, rest = rest[0], rest[1:]
	}
	commands := map[string]func(*common.Common, []string, io.Writer, io.Writer) int{
		"":            dashboard.Run,
		"demo":        demo.Run,
		"status":      status.Run,
		"plan":        plan.Run,
		"history":     history.Run,
		"init":        initcmd.Run,
		"sim":         simcmd.Run,
		"sim-service": simcmd.RunService,
		"start":       service.Start,
		"stop":        service.Stop,
		"restart":     service.Restart,
		"logs":        service.Logs,
		"merge":       mergecmd.Run,
		"keys":        keys.Run,
		"migrate":     migrate.Run,
		"serve":       serve.Run,
		"version":     versioncmd.Run,
	}
	// `postdeck help CMD` is `postdeck CMD --help`; `help keys add` too.
	commands["help"] = func(g *common.Common, args []string, stdout, stderr io.Writer) int {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			top.SetOutput(stdout)
			top.Usage()
			return 0
		}
		name := args[0]
		if name == "dashboard" { // postdeck with no command
			name = ""
		}
		if f, ok := commands[name]; ok && name != "help" {
			return f(g, append(args[1:], "--help"), stdout, stderr)
		}
		fmt.Fprintf(stderr, "postdeck help: no command %q (try: postdeck help)\n", args[0])
		return 1
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "postdeck: unknown command %q (try: postdeck help)\n", cmd)
		return 1
	}
	return f(g, rest, stdout, stderr)
}
