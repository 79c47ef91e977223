package mergecmd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"postdeck/cmd/common"
	"strings"
	"syscall"

	"postdeck/backend"
	"postdeck/merge"
)

// mergeStdin is where `postdeck merge` reads its confirmation.
var mergeStdin io.Reader = os.Stdin

// Run merges an old node's identities into a node data folder, or
// recovers an interrupted merge. Exit 0 on success, 1 on refusal or error.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	// `postdeck merge … | head` must not kill a merge half-way when the
	// reader goes: a write to a closed pipe then fails instead.
	signal.Ignore(syscall.SIGPIPE)
	fs := common.NewFlagSet("merge", g, stderr)
	from := fs.String("from", "", "the old node's data folder (read only, never changed)")
	to := fs.String("to", "", "the node data folder to merge into (created when missing)")
	dryRun := fs.Bool("dry-run", false, "print the plan and stop; changes nothing")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	recoverMerge := fs.Bool("recover", false, "finish or undo an interrupted merge into --to")
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	if *recoverMerge {
		if *to == "" {
			return common.Fail(stderr, errors.New("merge --recover: --to NODE_DATA is needed"))
		}
		msg, err := merge.Recover(*to)
		if err != nil {
			return common.Fail(stderr, err)
		}
		fmt.Fprintln(stdout, msg)
		return 0
	}
	if *from == "" || *to == "" {
		return common.Fail(stderr, errors.New("merge: --from OLD_NODE_DATA and --to NODE_DATA are both needed (see postdeck merge --help)"))
	}
	addrs, err := mergeNodeAddrs(g, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	ctx, stop := common.SignalContext()
	defer stop()
	plan, err := merge.NewPlan(ctx, merge.Options{From: *from, To: *to, NodeAddrs: addrs})
	if err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprint(stdout, plan.String())
	if !plan.OK() {
		fmt.Fprintf(stderr, "postdeck: merge refused (%d problem(s) above); nothing was changed\n", len(plan.Problems))
		return 1
	}
	if *dryRun {
		fmt.Fprintln(stdout, "Dry run: nothing was changed.")
		return 0
	}
	if !*yes {
		name := filepath.Base(plan.To)
		fmt.Fprintf(stdout, "Type the target folder's name (%s) to merge, anything else to cancel: ", name)
		line, _ := bufio.NewReader(mergeStdin).ReadString('\n')
		if strings.TrimSpace(line) != name {
			fmt.Fprintln(stdout, "\nCancelled: nothing was changed.")
			return 1
		}
	}
	sum, err := merge.Execute(ctx, plan, func(s merge.Step) { fmt.Fprintln(stdout, s.String()) })
	if err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprint(stdout, sum.String())
	return 0
}

// mergeNodeAddrs returns the configured node's gRPC listeners, so a running
// node is detected; merge needs no config, so none (and no default file) is
// fine.
func mergeNodeAddrs(g *common.Common, stderr io.Writer) ([]string, error) {
	path := g.Config
	if path == "" {
		path = backend.DefaultConfigPath()
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
	}
	cfg, err := backend.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "postdeck: warning:", w)
	}
	var addrs []string
	for _, a := range []string{cfg.Node.PostListener, cfg.Node.PrivateListener, cfg.Node.PublicListener} {
		if a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs, nil
}
