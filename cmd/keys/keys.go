package keys

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/backend/nodeapi"
	"postdeck/cmd/common"
	"postdeck/model"
)

// Run is `postdeck keys add|list|check`. Global flags may come before the
// nested command as well as after it (common.Subcommand); each nested
// command's --help is its own (common.Commands).
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	sub, rest, code, ok := common.Subcommand(g, "keys", args, stderr)
	if !ok {
		return code
	}
	switch sub {
	case "add":
		return cmdKeysAdd(g, rest, os.Stdin, stdout, stderr)
	case "list":
		return cmdKeysList(g, rest, stdout, stderr)
	case "check":
		return cmdKeysCheck(g, rest, stdout, stderr)
	}
	return common.UnknownSubcommand("keys", sub, stderr)
}

// keysSetup is what a keys command works with: the config when there is
// one (nil otherwise) and the node's data folder.
type keysSetup struct {
	cfg        *config.Config
	configPath string
	dataFolder string
	// node is the configured node the data folder is ("" when none is).
	node string
}

// keysConfig loads the config if there is one. A --data-folder lets the
// keys commands work without a config (or with a broken one, with a
// warning); without it the config must name the data folder.
func keysConfig(g *common.Common, dataFolder string, stderr io.Writer) (*keysSetup, error) {
	return keysConfigFor(g, dataFolder, "", stderr)
}

// keysConfigFor is keysConfig for the node called nodeName ("": the node
// whose data_folder --data-folder is, else the first).
func keysConfigFor(g *common.Common, dataFolder, nodeName string, stderr io.Writer) (*keysSetup, error) {
	s := &keysSetup{configPath: g.Config, dataFolder: dataFolder}
	if s.configPath == "" {
		s.configPath = config.DefaultPath()
	}
	if g.Config != "" || config.Exists(s.configPath) {
		cfg, err := common.LoadConfig(g, stderr)
		switch {
		case err == nil:
			s.cfg = cfg
		case dataFolder != "":
			fmt.Fprintf(stderr, "postdeck: warning: config not used: %v\n", err)
		default:
			return nil, err
		}
	}
	if nodeName != "" && s.cfg == nil {
		return nil, fmt.Errorf("--node %s: no config names the nodes (--config FILE)", nodeName)
	}
	if s.cfg != nil {
		n := s.cfg.NodeNamed(nodeName)
		if n == nil {
			var names []string
			for _, n := range s.cfg.AllNodes() {
				names = append(names, n.Name)
			}
			return nil, fmt.Errorf("--node %s: %s has no such node (it has %s)", nodeName, s.cfg.Path, strings.Join(names, ", "))
		}
		switch {
		case s.dataFolder == "":
			s.dataFolder, s.node = n.DataFolder, n.Name
		case nodeName != "":
			s.node = n.Name
		default:
			s.node = backend.NodeOfFolder(s.cfg, s.dataFolder)
		}
	}
	if s.dataFolder == "" {
		if s.cfg != nil {
			return nil, fmt.Errorf("%s does not say where the node's data folder is: set data_folder in [node] (or config = the node's JSON config), or pass --data-folder", s.cfg.Path)
		}
		return nil, fmt.Errorf("no config at %s: pass --data-folder with the node's data folder (it holds identities/), or --config FILE", s.configPath)
	}
	return s, nil
}

// nodeView asks the node once for SmesherIDs and PostStates (and status),
// each call bounded by the configured node timeout. A node that is down
// gives a view with errors, never an error.
func (s *keysSetup) nodeView(ctx context.Context) (*model.NodeView, func(), error) {
	if s.cfg == nil {
		return nil, func() {}, nil
	}
	node, err := nodeapi.NewClient(nodeapi.OptionsFor(s.cfg))
	if err != nil {
		return nil, func() {}, err
	}
	view := node.View(ctx)
	return &view, node.Close, nil
}

// cmdKeysAdd is `postdeck keys add POSTDIR`.
func cmdKeysAdd(g *common.Common, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("keys add", g, stderr)
	var o identities.AddKeyOptions
	fs.StringVar(&o.Name, "name", "", "file name in identities/, ending in .key (default: the PoST dir's name + .key)")
	fs.BoolVar(&o.Move, "move", false, "afterwards rename POSTDIR/identity.key to identity.key.bak-<time> (kept, never deleted)")
	yes := fs.Bool("yes", false, "do not ask for confirmation (for scripts)")
	addService := fs.Bool("add-service", false, "also append the matching [[service]] to the config file")
	operator := fs.String("operator", "", "the new service's --operator-address (default: a free port from 50051 up)")
	dataFolder := fs.String("data-folder", "", "the node's data folder (default: data_folder in the config)")
	nodeName := fs.String("node", "", "with several [[node]]s: the node to add the key to (default: the first)")
	placeAnyway := fs.String(common.PlaceAnywayFlag, "", "add the key although another node holds it: the identity's first 8 hex `characters`, typed (audited)")
	dirs, code, ok := common.ParseArgs(fs, g, args, true)
	if !ok {
		return code
	}
	if len(dirs) != 1 {
		return common.Fail(stderr, fmt.Errorf("keys add: give exactly one PoST data directory (the folder postcli initialized), got %d", len(dirs)))
	}
	setup, err := keysConfigFor(g, *dataFolder, *nodeName, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	o.DataFolder, o.PostDir = setup.dataFolder, dirs[0]
	if abs, err := filepath.Abs(o.PostDir); err == nil {
		o.PostDir = abs // the service's dir must not depend on where postdeck ran
	}
	plan, err := identities.PlanAddKey(o)
	if err != nil {
		return common.Fail(stderr, fmt.Errorf("not adding the key: %v", err))
	}
	override, err := setup.guard(plan, *placeAnyway, stderr)
	if err != nil {
		return common.Fail(stderr, fmt.Errorf("not adding the key: %v", err))
	}
	svc, svcNote, err := plannedService(setup, plan, *operator, *addService)
	if err != nil {
		return common.Fail(stderr, fmt.Errorf("not adding the key: %v", err))
	}
	fmt.Fprint(stdout, plan)
	if override != nil {
		fmt.Fprintf(stdout, "Placing it anyway (--%s %s): %s\n", common.PlaceAnywayFlag, override.OverridePrefix(), override.Reason())
	}
	if svc != nil && *addService {
		fmt.Fprintf(stdout, "Then add this service to %s:%s", setup.configPath, config.ServiceSnippet(svc.Service, svc.Launch))
	}
	in := bufio.NewReader(stdin)
	if !*yes && !ask(in, stdout, "Add this key? [y/N] ") {
		fmt.Fprintln(stderr, "postdeck: not added: nothing was changed (answer y, or pass --yes)")
		return 1
	}
	if override != nil {
		if err := common.AuditOverride("keys-add-override", plan.Options.Name, *override); err != nil {
			return common.Fail(stderr, err)
		}
		fmt.Fprintf(stdout, "override written to %s\n", common.AuditPath())
	}
	res, err := identities.ApplyAddKey(plan)
	if err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprintf(stdout, "added %s (identity %s)\n", res.Path, res.PublicHex)
	if res.CreatedDir {
		fmt.Fprintf(stdout, "created %s\n", filepath.Dir(res.Path))
	}
	if res.Backup != "" {
		fmt.Fprintf(stdout, "moved the original to %s (a backup: keep it somewhere safe)\n", res.Backup)
	} else {
		fmt.Fprintf(stdout, "kept the original %s\n", plan.Source)
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, "postdeck: warning:", w)
	}
	code = offerService(setup, svc, svcNote, *addService, *yes, in, stdout, stderr)
	fmt.Fprintf(stdout, "Next:\n  1. %s\n", identities.EquivocationWarning)
	fmt.Fprintf(stdout, "  2. %s\n", identities.RestartReminder)
	fmt.Fprintf(stdout, "  3. start the identity's post-service (--dir %s)\n", plan.Options.PostDir)
	fmt.Fprintln(stdout, "  4. run `postdeck keys check --wait` to confirm the node has loaded the key")
	return code
}

// guard is the equivocation guard of a fleet: every node is asked what it
// holds, and a key another node holds (or that a node could not be
// compared for) is refused unless typed is the identity's first 8 hex
// characters. It returns the conflict overridden, nil when there is none to
// override. One-node configs, and no config, are not guarded.
func (s *keysSetup) guard(plan *identities.AddKeyPlan, typed string, stderr io.Writer) (*model.KeyConflict, error) {
	if s.cfg == nil || !s.cfg.ComparesKeys() {
		if typed != "" {
			fmt.Fprintf(stderr, "postdeck: note: --%s ignored: the config has one node, so there is no other node to compare with\n", common.PlaceAnywayFlag)
		}
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := backend.AskFleet(ctx, s.cfg).Conflict(plan.Public, s.node)
	for _, n := range c.Notes() {
		fmt.Fprintln(stderr, "postdeck: note:", n)
	}
	switch {
	case !c.Refused():
		if typed != "" {
			fmt.Fprintf(stderr, "postdeck: note: --%s not needed: no other node holds this identity\n", common.PlaceAnywayFlag)
		}
		return nil, nil
	case c.Overridden([]string{typed}):
		return &c, nil
	case typed != "":
		return nil, common.GuardRefusal(c, []string{typed})
	}
	return nil, common.GuardRefusal(c, nil)
}

// plannedService works out the [[service]] that goes with the key, or nil
// with a note saying why there is none to add. With --add-service a
// service that cannot be added is an error, found before the key is written.
func plannedService(setup *keysSetup, plan *identities.AddKeyPlan, operator string, must bool) (*backend.ServiceProposal, string, error) {
	refuse := func(note string) (*backend.ServiceProposal, string, error) {
		if must {
			return nil, "", fmt.Errorf("--add-service: %s", note)
		}
		return nil, note, nil
	}
	if setup.cfg == nil {
		return refuse(fmt.Sprintf("no config file to add the service to (%s)", setup.configPath))
	}
	if setup.node != setup.cfg.Node.Name {
		// An appended [[service]] names no node, so it would belong to
		// the first: the operator adds this one by hand.
		return refuse(fmt.Sprintf("the key goes to node %q, not the first: add its [[service]] to %s by hand, with node = %q", setup.node, setup.cfg.Path, setup.node))
	}
	p, err := backend.ProposeService(setup.cfg, backend.ServiceRequest{Key: plan.Options.Name, Public: plan.Public, Dir: plan.Options.PostDir, Operator: operator})
	var clash *backend.ServiceClashError
	switch {
	case errors.As(err, &clash):
		return refuse(fmt.Sprintf("cannot add a service to %s: %v (choose another --name or --operator)", setup.cfg.Path, err))
	case err != nil:
		return refuse(err.Error())
	case p.Existing != nil:
		return nil, p.Note(), nil
	}
	return p, "", nil
}

// offerService appends the service (--add-service), asks whether to
// (interactive), or prints the block to paste. It returns the exit code.
func offerService(setup *keysSetup, p *backend.ServiceProposal, note string, add, yes bool, in *bufio.Reader, stdout, stderr io.Writer) int {
	if p == nil {
		if note != "" {
			fmt.Fprintln(stdout, "service:", note)
		}
		return 0
	}
	svc := &p.Service
	snippet := config.ServiceSnippet(*svc, p.Launch)
	if !add {
		if yes {
			fmt.Fprintf(stdout, "The matching service for %s (not added; --add-service adds it):%s", setup.configPath, snippet)
			return 0
		}
		fmt.Fprintf(stdout, "The matching service for %s:%s", setup.configPath, snippet)
		if !ask(in, stdout, "Add this [[service]] to the config? [y/N] ") {
			fmt.Fprintln(stdout, "service not added; paste the block above into the config when you want it")
			return 0
		}
	}
	if err := config.AppendService(setup.configPath, *svc, p.Launch); err != nil {
		fmt.Fprintf(stderr, "postdeck: the key is added, but the service is not: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "added [[service]] %q (dir %s, operator %s) to %s\n", svc.Name, svc.Dir, svc.Operator, setup.configPath)
	fmt.Fprintf(stdout, "service %q: %s\n", svc.Name, p.Launch)
	return 0
}

// ask prints a question and reads a yes/no answer; anything but y/yes
// (including end of input) is no.
func ask(in *bufio.Reader, out io.Writer, question string) bool {
	fmt.Fprint(out, question)
	line, err := in.ReadString('\n')
	if err != nil && line == "" {
		fmt.Fprintln(out)
		return false
	}
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}

// keysCommand adds --data-folder to a keys command's flags, parses them and
// reads the config; ok false means exit with code.
func keysCommand(fs *flag.FlagSet, g *common.Common, args []string, stderr io.Writer) (setup *keysSetup, code int, ok bool) {
	dataFolder := fs.String("data-folder", "", "the node's data folder (default: data_folder in the config)")
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return nil, code, false
	}
	setup, err := keysConfig(g, *dataFolder, stderr)
	if err != nil {
		return nil, common.Fail(stderr, err), false
	}
	return setup, 0, true
}

// cmdKeysList is `postdeck keys list [--json]`.
func cmdKeysList(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("keys list", g, stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	setup, code, ok := keysCommand(fs, g, args, stderr)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	view, done, err := setup.nodeView(ctx)
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer done()
	listings, err := backend.ReadKeyListings(setup.dataFolder, setup.cfg, view)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if view != nil && !view.HasSmesherIDs && !view.HasPostStates {
		fmt.Fprintf(stderr, "postdeck: note: the node did not answer, so on-node is unknown%s\n", nodeErrors(view))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(listings); err != nil {
			return common.Fail(stderr, err)
		}
		return 0
	}
	if len(listings) == 0 {
		fmt.Fprintf(stdout, "no key files in %s\n", filepath.Join(setup.dataFolder, "identities"))
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tID\tSERVICE\tDIR\tON NODE\tPROBLEMS")
	for _, l := range listings {
		id := l.ID
		if len(id) > 12 {
			id = id[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", l.File, common.Dash(id), common.Dash(l.Service), common.Dash(l.Dir), l.OnNode, common.Dash(strings.Join(l.Problems, "; ")))
	}
	tw.Flush()
	return 0
}

func nodeErrors(v *model.NodeView) string {
	var parts []string
	for _, e := range v.Errors {
		parts = append(parts, e.Source+": "+e.Message)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// cmdKeysCheck is `postdeck keys check [--wait]`: after a restart, is every
// key file reported by the node? Exit 0 when all are, 1 otherwise.
func cmdKeysCheck(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("keys check", g, stderr)
	wait := fs.Bool("wait", false, "keep checking until the node reports every key (Ctrl-C stops)")
	setup, code, ok := keysCommand(fs, g, args, stderr)
	if !ok {
		return code
	}
	if setup.cfg == nil {
		return common.Fail(stderr, errors.New("keys check asks the node: it needs a config with the node's listeners (--config FILE)"))
	}
	files, err := identities.ReadKeyDir(setup.dataFolder)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if len(files) == 0 {
		return common.Fail(stderr, fmt.Errorf("no key files in %s: add one with `postdeck keys add POSTDIR`", filepath.Join(setup.dataFolder, "identities")))
	}
	bad := false
	for _, f := range files {
		if f.Problem != "" {
			fmt.Fprintf(stderr, "%s: %s\n", f.Name, f.Problem)
			bad = true
		}
	}
	if bad {
		return common.Fail(stderr, errors.New("fix the key files above first: the node does not start with them as they are"))
	}
	node, err := nodeapi.NewClient(nodeapi.OptionsFor(setup.cfg))
	if err != nil {
		return common.Fail(stderr, err)
	}
	defer node.Close()
	ctx, stop := common.SignalContext()
	defer stop()
	return checkLoop(ctx, node, files, *wait, setup.cfg.Poll.Interval.Duration, stdout, stderr)
}

// checkLoop confirms each key against the node, once or (wait) until all
// are confirmed, printing each key's verdict when it changes. Stopped (ctx
// ends) it says one thing wherever the signal lands: the keys not yet
// confirmed, all of them until the node has answered.
func checkLoop(ctx context.Context, node *nodeapi.Client, files []model.KeyFile, wait bool, every time.Duration, stdout, stderr io.Writer) int {
	last := map[string]string{} // the line printed for each key
	lastMissing := ""
	missing := make([]string, len(files))
	for i, f := range files {
		missing[i] = f.Name
	}
	stopped := func() int {
		slices.Sort(missing)
		return common.Fail(stderr, fmt.Errorf("stopped; still missing: %s", strings.Join(missing, ", ")))
	}
	for {
		view := node.View(ctx)
		if ctx.Err() != nil {
			return stopped()
		}
		if !view.HasSmesherIDs && !view.HasPostStates {
			line := "the node does not answer" + nodeErrors(&view)
			if !wait {
				return common.Fail(stderr, errors.New(line+": is it running? (--wait keeps trying)"))
			}
			if lastMissing != line {
				fmt.Fprintln(stdout, line+"; waiting for it (Ctrl-C stops)")
				lastMissing = line
			}
			if !sleepCtx(ctx, every) {
				return stopped()
			}
			continue
		}
		missing = missing[:0]
		for _, f := range files {
			ok, msg := backend.ConfirmLoaded(view, f.Public)
			verdict := "ok     "
			if !ok {
				verdict = "missing"
				missing = append(missing, f.Name)
			}
			line := fmt.Sprintf("%s %s: %s", verdict, f.Name, msg)
			if last[f.Name] != line {
				fmt.Fprintln(stdout, line)
				last[f.Name] = line
			}
		}
		if len(missing) == 0 {
			fmt.Fprintf(stdout, "the node reports all %d key(s)\n", len(files))
			return 0
		}
		if !wait {
			return common.Fail(stderr, fmt.Errorf("the node does not report %s yet: restart it so it reads identities/, then check again (--wait keeps checking)", strings.Join(missing, ", ")))
		}
		if m := strings.Join(missing, ", "); m != lastMissing {
			fmt.Fprintf(stdout, "waiting for the node to report: %s (Ctrl-C stops)\n", m)
			lastMissing = m
		}
		if !sleepCtx(ctx, every) {
			return stopped()
		}
	}
}

// sleepCtx waits d, or returns false as soon as ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
