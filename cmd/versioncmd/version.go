// Package versioncmd is `postdeck version`: which postdeck this is, from its
// build info, and with --node the configured nodes' versions and each
// post-service binary's.
package versioncmd

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/backend/proc"
	"postdeck/cmd/common"
	"postdeck/version"
)

// askTimeout bounds all of --node's questions together; each node call has
// its own timeout (the config's node_timeout) and each binary its own
// (proc.VersionTimeout) inside it.
const askTimeout = 15 * time.Second

// Run prints the version; with --node, also the nodes' and the binaries'.
// It exits 1 when a node did not answer, so a script that needs the node's
// version notices.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("version", g, stderr)
	node := fs.Bool("node", false, "also ask the configured node(s) their version, and each [[service]] bin its own (bin --version)")
	if _, code, ok := common.ParseArgs(fs, g, args, false); !ok {
		return code
	}
	printBuild(stdout, version.Read())
	if !*node {
		return 0
	}
	cfg, err := common.LoadConfig(g, stderr)
	if err != nil {
		return common.Fail(stderr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
	defer cancel()
	var nodes []string
	var bins []binLine
	var nodesOK bool
	var wg sync.WaitGroup
	wg.Go(func() { nodes, nodesOK = askNodes(ctx, cfg) })
	wg.Go(func() { bins = askBins(ctx, cfg) })
	wg.Wait()
	for _, l := range nodes {
		fmt.Fprintln(stdout, l)
	}
	printBins(stdout, bins)
	if !nodesOK {
		return 1
	}
	return 0
}

func printBuild(w io.Writer, b version.Build) {
	fmt.Fprintln(w, "postdeck", b.String())
	if b.Module != "" {
		fmt.Fprintf(w, "  module    %s %s\n", b.Module, b.ModuleVersion)
	}
	switch rev := b.Revision; {
	case rev == "":
		// GOFLAGS=-buildvcs=false (or a build outside a checkout) records
		// none: say so rather than print nothing.
		fmt.Fprintln(w, "  revision  not recorded (built with -buildvcs=false, or not from a git checkout)")
	default:
		line := rev
		if b.Time != "" {
			line += " (" + b.Time + ")"
		}
		if b.Modified {
			line += " with uncommitted changes"
		}
		fmt.Fprintln(w, "  revision ", line)
	}
	if b.Go != "" {
		fmt.Fprintln(w, "  go       ", strings.TrimSpace(b.Go+" "+b.Platform))
	}
}

// askNodes is one line per configured node: its version, or why not.
func askNodes(ctx context.Context, cfg *config.Config) (lines []string, ok bool) {
	all := cfg.AllNodes()
	lines = make([]string, len(all))
	oks := make([]bool, len(all))
	var wg sync.WaitGroup
	for i := range all {
		n := &all[i]
		wg.Go(func() {
			label := "node"
			if n.Name != "" {
				label = "node " + n.Name
			}
			c, err := nodeapi.NewClient(nodeapi.OptionsForNode(cfg, n))
			if err != nil {
				lines[i] = fmt.Sprintf("%s  unknown: %v", label, err)
				return
			}
			defer c.Close()
			v, err := c.Version(ctx)
			switch {
			case err != nil:
				lines[i] = fmt.Sprintf("%s  unknown: %v", label, err)
			case v == "":
				lines[i], oks[i] = label+"  answered without a version", true
			default:
				lines[i], oks[i] = fmt.Sprintf("%s  %s (public listener %s)", label, v, n.PublicListener), true
			}
		})
	}
	wg.Wait()
	ok = true
	for _, o := range oks {
		ok = ok && o
	}
	return lines, ok
}

// binLine is one configured bin and the services that run it; bin "" is
// the services without one.
type binLine struct {
	bin, version string
	err          error
	services     []string
}

// askBins asks each distinct configured bin --version, all at once.
func askBins(ctx context.Context, cfg *config.Config) []binLine {
	var lines []binLine
	at := map[string]int{}
	for _, s := range cfg.Services {
		bin := s.Bin
		if bin == "" && s.SystemdUnit != "" {
			continue // systemd builds its command line; its unit names the binary
		}
		i, seen := at[bin]
		if !seen {
			i = len(lines)
			at[bin] = i
			lines = append(lines, binLine{bin: bin})
		}
		lines[i].services = append(lines[i].services, s.Name)
	}
	var wg sync.WaitGroup
	for i := range lines {
		if lines[i].bin == "" {
			continue
		}
		wg.Go(func() { lines[i].version, lines[i].err = proc.BinVersion(ctx, lines[i].bin, lines[i].bin) })
	}
	wg.Wait()
	return lines
}

func printBins(w io.Writer, lines []binLine) {
	if len(lines) == 0 {
		fmt.Fprintln(w, "post-service: no [[service]] configured")
		return
	}
	for _, l := range lines {
		who := serviceList(l.services)
		switch {
		case l.bin == "":
			fmt.Fprintf(w, "post-service  no bin set for %s: postdeck only watches them (set bin to start them)\n", who)
		case l.err != nil:
			fmt.Fprintf(w, "post-service  %s: unknown: %v (%s)\n", l.bin, l.err, who)
		default:
			fmt.Fprintf(w, "post-service  %s: %s (%s)\n", l.bin, l.version, who)
		}
	}
}

// serviceList names a few services and counts the rest.
func serviceList(names []string) string {
	const shown = 3
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s … %d services", strings.Join(names[:shown], ", "), len(names))
}
