package mergecmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/cmd/common"
	"postdeck/merge"
)

// mergeStdin is where `postdeck merge` reads its confirmation.
var mergeStdin io.Reader = os.Stdin

// Run merges an old node's identities into a node data folder (several
// old nodes' with --from repeated), or recovers an interrupted merge. Exit 0
// on success, 1 on refusal or error.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	// `postdeck merge … | head` must not kill a merge half-way when the
	// reader goes: a write to a closed pipe then fails instead.
	signal.Ignore(syscall.SIGPIPE)
	fs := common.NewFlagSet("merge", g, stderr)
	var froms listFlags
	fs.Var(&froms, "from", "the old node's data `folder` (read only, never changed); repeat --from to merge several old nodes into --to, one after another")
	to := fs.String("to", "", "the node data folder to merge into (created when missing)")
	dryRun := fs.Bool("dry-run", false, "print the plan and stop; changes nothing")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	recoverMerge := fs.Bool("recover", false, "finish or undo an interrupted merge into --to")
	var placeAnyway listFlags
	fs.Var(&placeAnyway, common.PlaceAnywayFlag, "with several [[node]]s: merge a key another node holds anyway: the identity's first 8 hex `characters`, typed (repeat for each; audited)")
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
	if len(froms) > 1 {
		return mergeBatch(g, froms, *to, placeAnyway, *dryRun, *yes, stdout, stderr)
	}
	from := ""
	if len(froms) == 1 {
		from = froms[0]
	}
	if from == "" || *to == "" {
		return common.Fail(stderr, errors.New("merge: --from OLD_NODE_DATA and --to NODE_DATA are both needed (see postdeck merge --help)"))
	}
	ctx, stop := common.SignalContext()
	defer stop()
	base, err := mergeOptions(ctx, g, *to, placeAnyway, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	base.From, base.To = from, *to
	plan, err := merge.NewPlan(ctx, base)
	if err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprint(stdout, plan.String())
	unmatched := unmatchedOverrides(placeAnyway, plan)
	if !plan.OK() {
		fmt.Fprintf(stderr, "postdeck: merge refused (%d problem(s) above); nothing was changed\n", len(plan.Problems))
		if unmatched != nil {
			fmt.Fprintln(stderr, "postdeck:", unmatched)
		}
		return 1
	}
	if unmatched != nil {
		return common.Fail(stderr, unmatched)
	}
	if *dryRun {
		fmt.Fprintln(stdout, "Dry run: nothing was changed.")
		return 0
	}
	if !*yes && !confirmMerge(plan.To, stdout) {
		return 1
	}
	if err := auditOverrides(stdout, plan); err != nil {
		return common.Fail(stderr, err)
	}
	sum, err := merge.Execute(ctx, plan, func(s merge.Step) { fmt.Fprintln(stdout, s.String()) })
	if err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprint(stdout, sum.String())
	return 0
}

// listFlags is a flag that may be repeated: --from, --place-anyway.
type listFlags []string

func (f *listFlags) String() string { return strings.Join(*f, ", ") }

func (f *listFlags) Set(s string) error {
	*f = append(*f, s)
	return nil
}

// confirmMerge asks to type the target folder's name.
func confirmMerge(to string, stdout io.Writer) bool {
	name := filepath.Base(to)
	fmt.Fprintf(stdout, "Type the target folder's name (%s) to merge, anything else to cancel: ", name)
	line, _ := bufio.NewReader(mergeStdin).ReadString('\n')
	if strings.TrimSpace(line) != name {
		fmt.Fprintln(stdout, "\nCancelled: nothing was changed.")
		return false
	}
	return true
}

// mergeBatch merges several old nodes into one target, one after another,
// with the refusals the wizard shows (merge.Batch): each plan, and two
// sources holding one key name or identity; each source is planned again
// just before its merge, and the first failure stops the rest.
func mergeBatch(g *common.Common, froms listFlags, to string, placeAnyway listFlags, dryRun, yes bool, stdout, stderr io.Writer) int {
	abs := func(p string) string {
		if a, err := filepath.Abs(p); p != "" && err == nil {
			return a
		}
		return p
	}
	var typed []string
	for _, f := range froms {
		typed = append(typed, abs(f))
	}
	to = abs(to)
	sources, err := merge.CheckFolders(typed, to)
	if err != nil {
		return common.Fail(stderr, fmt.Errorf("merge: %v", err))
	}
	ctx, stop := common.SignalContext()
	defer stop()
	base, err := mergeOptions(ctx, g, to, placeAnyway, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	b, err := merge.PlanBatch(ctx, sources, to, base)
	if err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprint(stdout, b.String())
	unmatched := unmatchedOverrides(placeAnyway, b.Plans...)
	if !b.OK() {
		fmt.Fprintf(stderr, "postdeck: merge refused (%d problem(s) above); nothing was changed\n", b.Problems())
		if unmatched != nil {
			fmt.Fprintln(stderr, "postdeck:", unmatched)
		}
		return 1
	}
	if unmatched != nil {
		return common.Fail(stderr, unmatched)
	}
	switch {
	case dryRun:
		fmt.Fprintln(stdout, "Dry run: nothing was changed.")
		return 0
	case !yes && !confirmMerge(to, stdout):
		return 1
	}
	if err := auditOverrides(stdout, b.Plans...); err != nil {
		return common.Fail(stderr, err)
	}
	if err := runBatch(ctx, b, stdout); err != nil {
		return common.Fail(stderr, err)
	}
	return 0
}

// runBatch runs the merges of a confirmed batch one after another.
func runBatch(ctx context.Context, b *merge.Batch, stdout io.Writer) error {
	for i, src := range b.Sources {
		fmt.Fprintf(stdout, "Merging %d/%d: %s\n", i+1, len(b.Sources), src)
		plan, err := b.Replan(ctx, i)
		var sum *merge.Summary
		if err == nil {
			sum, err = merge.Execute(ctx, plan, func(s merge.Step) { fmt.Fprintln(stdout, s.String()) })
		}
		if changed := (*merge.ChangedError)(nil); errors.As(err, &changed) {
			err = fmt.Errorf("%w; run the merge again to see the new plan", err)
		}
		if err != nil {
			return fmt.Errorf("merging %s failed: %v%s", src, err, b.StoppedAt(i))
		}
		fmt.Fprint(stdout, sum.String())
	}
	return nil
}

// mergeOptions are a merge's options from the config: the configured
// node's gRPC listeners, so a running node is detected, and with several
// nodes the equivocation guard's: what every node holds (asked now, each
// node at once with its own timeouts), which node the target is, and the
// overrides typed. merge needs no config, so none (and no default file) is
// fine: nothing is probed or compared.
func mergeOptions(ctx context.Context, g *common.Common, to string, placeAnyway []string, stderr io.Writer) (merge.Options, error) {
	cfg, err := mergeConfig(g, stderr)
	o := merge.Options{NodeAddrs: config.NodeAddrsOf(cfg, to), PlaceAnyway: placeAnyway}
	if err != nil || cfg == nil || !cfg.ComparesKeys() {
		if len(placeAnyway) > 0 && err == nil {
			fmt.Fprintf(stderr, "postdeck: note: --%s ignored: no config with several nodes, so there is no other node to compare with\n", common.PlaceAnywayFlag)
		}
		return o, err
	}
	o.Fleet, o.TargetNode = backend.AskFleet(ctx, cfg), backend.NodeOfFolder(cfg, to)
	return o, nil
}

// unmatchedOverrides refuses a --place-anyway that overrides none of the
// plans' refusals: a mistyped prefix must not pass unnoticed.
func unmatchedOverrides(typed []string, plans ...*merge.Plan) error {
	for _, t := range typed {
		found := false
		for _, p := range plans {
			for _, c := range p.Overrides {
				found = found || c.Overridden([]string{t})
			}
		}
		if !found {
			return fmt.Errorf("--%s %s is not the first 8 hex characters of any key this merge would refuse: nothing was changed", common.PlaceAnywayFlag, t)
		}
	}
	return nil
}

// auditOverrides writes each key placed anyway to the audit log, before
// the merge writes anything; a log that cannot be written stops it.
func auditOverrides(stdout io.Writer, plans ...*merge.Plan) error {
	for _, p := range plans {
		for _, c := range p.Overrides {
			name := ""
			for _, k := range p.Keys {
				if bytes.Equal(k.Public, c.ID) {
					name = k.Name
				}
			}
			if err := common.AuditOverride("merge-override", name, c); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "override of %s written to %s\n", name, common.AuditPath())
		}
	}
	return nil
}

// mergeConfig loads the config, if there is one, and the first node's
// listeners.
func mergeConfig(g *common.Common, stderr io.Writer) (*config.Config, error) {
	path := g.Config
	if path == "" {
		path = config.DefaultPath()
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "postdeck: warning:", w)
	}
	return cfg, nil
}
