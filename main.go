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

const usage = `postdeck — one dashboard for every PoST identity on your Spacemesh node

Usage:
  postdeck [flags]                  open the dashboard on the configured node
  postdeck demo [flags]             open the dashboard on a built-in simulated node
  postdeck status [--json] [flags]  print one snapshot; exit 2 when an identity is critical
  postdeck plan [--json] [flags]    print the deadline plan of the coming cycle gap; exit 2 when a proof will miss
  postdeck history [NAME…] [--epochs N] [--json]
                                    per identity and publish epoch: ATX, rewards, and why one is missing
  postdeck init [init flags]        write a config file from the node's config and running services
  postdeck start NAME…               start post-services (NAME: service or key file name)
  postdeck stop NAME… [--when-safe|--force]
                                    stop post-services; refuses (exit 3) when that would throw away a proof
  postdeck restart NAME…             stop (only if safe) and start again
  postdeck logs NAME [-f] [-n N]     print a service's log; -f follows it
  postdeck keys add|list|check      add a PoST dir's identity.key to the node, list keys, confirm after a restart
  postdeck migrate                  the migration wizard: merge old nodes' identities into the configured node
  postdeck merge --from OLD_NODE_DATA [--from OLD2 …] --to NODE_DATA [--dry-run] [--yes] | --recover --to NODE_DATA
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
		fmt.Fprint(top.Output(), usage)
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
		"help":        func(*common.Common, []string, io.Writer, io.Writer) int { top.SetOutput(stdout); top.Usage(); return 0 },
	}
	f, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "postdeck: unknown command %q (try: postdeck help)\n", cmd)
		return 1
	}
	return f(g, rest, stdout, stderr)
}
