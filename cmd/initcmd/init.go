package initcmd

import (
	"fmt"
	"io"
	"os"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/cmd/common"
)

// Run writes a commented config file from the node's JSON config, the
// identities folder and the post-services already running on this machine.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("init", g, stderr)
	var o backend.InitOptions
	fs.StringVar(&o.NodeJSONConfig, "node-config", "", "the node's JSON config (config.mainnet.json)")
	fs.StringVar(&o.DataFolder, "data-folder", "", "the node's data folder (holds identities/)")
	fs.StringVar(&o.PostListener, "post-listener", "", "the node's grpc-post-listener, e.g. 127.0.0.1:9094")
	fs.StringVar(&o.PrivateListener, "private-listener", "", "the node's grpc-private-listener, e.g. 127.0.0.1:9093")
	fs.StringVar(&o.PublicListener, "public-listener", "", "the node's grpc-public-listener, e.g. 127.0.0.1:9092")
	force := fs.Bool("force", false, "overwrite an existing config file")
	stdoutOnly := fs.Bool("print", false, "print the config instead of writing it")
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	path := g.Config
	if path == "" {
		path = config.DefaultPath()
	}
	if _, err := os.Stat(path); err == nil && !*force && !*stdoutOnly {
		return common.Fail(stderr, fmt.Errorf("%s already exists: use --force to overwrite it, or --print to see what init would write", path))
	}
	cfg, notes, err := backend.BuildInitConfig(o)
	if err != nil {
		return common.Fail(stderr, err)
	}
	if n := cfg.Node; n.PostListener == "" && n.PrivateListener == "" && n.PublicListener == "" && n.DataFolder == "" && len(cfg.Services) == 0 {
		for _, n := range notes {
			fmt.Fprintln(stderr, "note:", n)
		}
		return common.Fail(stderr, fmt.Errorf("found nothing to configure: give --node-config with the node's JSON config, or --data-folder and the --*-listener flags"))
	}
	data := config.Render(cfg)
	for _, n := range notes {
		fmt.Fprintln(stderr, "note:", n)
	}
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
