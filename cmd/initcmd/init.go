package initcmd

import (
	"errors"
	"fmt"
	"io"
	"os"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/cmd/common"
)

// Run writes a commented config file from the node's JSON config, the
// identities folder and the post-services already running on this machine;
// with --add-node it adds such a node to an existing config file instead.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	return run(g, args, stdout, stderr, "")
}

// run is Run looking for post-services in procRoot ("/proc" when empty):
// the tests give a fake one, so that services of their own are found.
func run(g *common.Common, args []string, stdout, stderr io.Writer, procRoot string) int {
	fs := common.NewFlagSet("init", g, stderr)
	o := backend.InitOptions{ProcRoot: procRoot}
	fs.StringVar(&o.NodeJSONConfig, "node-config", "", "the node's JSON config (config.mainnet.json)")
	fs.StringVar(&o.DataFolder, "data-folder", "", "the node's data folder (holds identities/)")
	fs.StringVar(&o.PostListener, "post-listener", "", "the node's grpc-post-listener, e.g. 127.0.0.1:9094")
	fs.StringVar(&o.PrivateListener, "private-listener", "", "the node's grpc-private-listener, e.g. 127.0.0.1:9093")
	fs.StringVar(&o.PublicListener, "public-listener", "", "the node's grpc-public-listener, e.g. 127.0.0.1:9092")
	force := fs.Bool("force", false, "overwrite an existing config file")
	stdoutOnly := fs.Bool("print", false, "print the config instead of writing it")
	addNode := fs.String("add-node", "", "add the node found, called `NAME`, to the existing config file (edited, with a backup) instead of writing a new one")
	firstNode := fs.String("first-node", "", "with --add-node: the `NAME` the config's first node gets if it has none yet (default "+config.DefaultFirstNodeName+")")
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	path := g.Config
	if path == "" {
		path = config.DefaultPath()
	}
	if *addNode != "" {
		if *force {
			return common.Fail(stderr, errors.New("--add-node edits the config file and --force replaces it: give one of them"))
		}
		return runAddNode(path, *addNode, *firstNode, o, *stdoutOnly, stdout, stderr)
	}
	if *firstNode != "" {
		return common.Fail(stderr, errors.New("--first-node names the first node when --add-node adds another: give --add-node too"))
	}
	if _, err := os.Stat(path); err == nil && !*force && !*stdoutOnly {
		return common.Fail(stderr, fmt.Errorf("%s already exists: use --force to overwrite it, --add-node NAME to add this node to it, or --print to see what init would write", path))
	}
	cfg, notes, err := backend.BuildInitConfig(o)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if foundNothing(cfg) {
		printNotes(stderr, notes)
		return common.Fail(stderr, errNothing)
	}
	data := config.Render(cfg)
	printNotes(stderr, notes)
	if *stdoutOnly {
		stdout.Write(data)
		return 0
	}
	// config.WriteFile re-checks: a file that appeared meanwhile is not overwritten.
	if err := config.WriteFile(path, data, *force); err != nil {
		return common.Fail(stderr, err)
	}
	fmt.Fprintf(stdout, "wrote %s with %d post-service(s); check it, then run: postdeck --config %s\n", path, len(cfg.Services), path)
	return 0
}

var errNothing = errors.New("found nothing to configure: give --node-config with the node's JSON config, or --data-folder and the --*-listener flags")

func foundNothing(cfg *config.Config) bool {
	n := cfg.Node
	return n.PostListener == "" && n.PrivateListener == "" && n.PublicListener == "" && n.DataFolder == "" && len(cfg.Services) == 0
}

func printNotes(w io.Writer, notes []string) {
	for _, n := range notes {
		fmt.Fprintln(w, "note:", n)
	}
}

// runAddNode discovers one node as init does, beside the nodes and services
// of the config at path, and adds it to that file by editing its text.
func runAddNode(path, name, firstName string, o backend.InitOptions, printOnly bool, stdout, stderr io.Writer) int {
	// The file must load before anything is discovered for it: its services
	// and nodes decide which of the running post-services are this node's.
	existing, err := config.Load(path)
	if err != nil {
		if !config.Exists(path) {
			return common.Fail(stderr, fmt.Errorf("no config file at %s to add a node to: run `postdeck init` without --add-node to write one", path))
		}
		return common.Fail(stderr, fmt.Errorf("config %s does not load now, so it is left alone; fix it first:\n%v", path, err))
	}
	o.Existing = existing
	cfg, notes, err := backend.BuildInitConfig(o)
	if err != nil {
		return common.Fail(stderr, err)
	}
	printNotes(stderr, notes)
	if foundNothing(cfg) {
		return common.Fail(stderr, errNothing)
	}
	node := cfg.Node
	node.Name = name
	edit, err := config.PlanAddNode(path, node, firstName, cfg.Services)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if printOnly {
		stdout.Write(edit.Text)
		return 0
	}
	backup, err := edit.Apply()
	if err != nil {
		return common.Fail(stderr, err)
	}
	if edit.FirstNamed {
		fmt.Fprintf(stdout, "the first node had no name: it is now [[node]] %q (--first-node chooses another)\n", edit.FirstName)
	}
	if edit.Tagged > 0 {
		fmt.Fprintf(stdout, "%d service(s) of the first node now say node = %q: with several nodes each service names its own\n", edit.Tagged, edit.FirstName)
	}
	fmt.Fprintf(stdout, "added [[node]] %q with %d post-service(s) to %s; the old file is kept as %s\n", name, edit.Services, path, backup)
	fmt.Fprintf(stdout, "check it, then run: postdeck --config %s\n", path)
	return 0
}
