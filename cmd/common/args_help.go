package common

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// Help is what postdeck says about one command: the line of the top-level
// usage and the whole of `postdeck CMD --help`. The command's own flags
// come from its flag set, so they are never out of date; the global flags
// are only pointed to, as `postdeck help` lists them once.
type Help struct {
	// Name is the command as typed after postdeck: "start", "keys add";
	// "dashboard" is postdeck with no command.
	Name string
	// Use is the synopsis after the name: its arguments, and the flags
	// worth naming in the top-level usage ("NAME… [--when-safe|--force]").
	Use string
	// Short is the top-level usage's description.
	Short string
	// Long says what the command does, for its --help.
	Long string
	// Args explains each positional argument: {"NAME…", "what it is"}.
	Args [][2]string
	// Hidden commands are left out of the top-level usage (each has a line
	// there of its own, such as the group `keys`).
	Hidden bool
}

// GlobalPointer is the last line of every command's --help: where the
// global flags are explained, which it does not repeat.
const GlobalPointer = "Global flags work before or after the command: postdeck help lists them."

// nameArg is the NAME of the commands acting on services.
var nameArg = [2]string{"NAME…", "a service's name in the config, or the key file name of the identity it proves for (post01.key); one or more"}

// Commands is every command, in the order of the top-level usage.
var Commands = []Help{
	{Name: "dashboard", Use: "[flags]", Short: "open the dashboard on the configured node",
		Long: "Open the dashboard on the configured node: every identity, its node's view, its post-service\nand its proof, with start, stop, keys and merges a key away (? lists the keys)."},
	{Name: "demo", Use: "[flags]", Short: "open the dashboard on a built-in simulated node",
		Long: "Open the dashboard on a built-in simulated node with real simulated post-services, its own\nfresh keys, folders and ports, so every action works with no node at all."},
	{Name: "status", Use: "[--json]", Short: "print one snapshot; exit 2 when an identity is critical, 4 when a node cannot be reached",
		Long: "Print one snapshot of every identity, as a table or as JSON (for scripts and cron).\n" +
			"Exit code: 0 fine; 2 when any identity is critical; 4 when no identity is critical\n" +
			"but a configured node (or [[host]]) cannot be reached; 1 on usage or config errors."},
	{Name: "plan", Use: "[--json]", Short: "print the deadline plan of the coming cycle gap; exit 2 when a proof will miss",
		Long: "Print the deadline plan of the coming cycle gap: which proofs run when, on which disk, and\nwhy one would miss. Exit code: 0 when all fit, 2 when any will miss, 1 on usage or config errors."},
	{Name: "history", Use: "[NAME…] [--epochs N] [--json]", Short: "per identity and publish epoch: ATX, rewards, and why one is missing",
		Long: "Per identity and publish epoch, from the epoch ledger: the ATX, the rewards it earned and,\nwhere one is missing, the first step that failed. Reads the ledger without changing it.",
		Args: [][2]string{{"NAME…", "only these identities: a key file name, a service name or a hex id prefix (8+ digits); default all"}}},
	{Name: "init", Use: "[flags]", Short: "write a config file from the node's config and running services",
		Long: "Write a config file for this machine: the node from its JSON config or data folder (or the\nlisteners given), and a [[service]] for each post-service found running in /proc. It writes\n--config (default $XDG_CONFIG_HOME/postdeck/config.toml) unless --print; an existing file is\nkept unless --force, or --add-node adds the node found to it."},
	{Name: "start", Use: "NAME…", Short: "start post-services (NAME: service or key file name)",
		Long: "Start post-services. One already running is left as it is and counts as started (exit 0),\nso a script can make sure a service runs.",
		Args: [][2]string{nameArg}},
	{Name: "stop", Use: "NAME… [--when-safe|--force]", Short: "stop post-services; refuses (exit 3) when that would throw away a proof",
		Long: "Stop post-services. A stop that would throw away a proof is refused with the reason (exit 3)\nunless --force; --when-safe waits for the safe moment, saying what for.",
		Args: [][2]string{nameArg}},
	{Name: "restart", Use: "NAME…", Short: "stop (only if safe) and start again",
		Long: "Stop post-services (only if safe, else exit 3, unless --force) and start them again.",
		Args: [][2]string{nameArg}},
	{Name: "logs", Use: "NAME [-f] [-n N]", Short: "print a service's log; -f follows it",
		Long: "Print the end of one post-service's log: its log file, or its systemd unit's journal.",
		Args: [][2]string{{"NAME", "one service's name in the config, or the key file name of the identity it proves for"}}},
	{Name: "keys", Use: "add|list|check", Short: "add a PoST dir's identity.key to the node, list keys, confirm after a restart",
		Long: "The node's identity keys: add one safely, list them, confirm the node loaded them.",
		Args: [][2]string{{"add POSTDIR", "copy POSTDIR/identity.key into the node's identities/ (postdeck keys add --help)"},
			{"list", "every key file: identity, PoST dir, service, whether the node has it, problems"},
			{"check", "after restarting the node: confirm it reports every key file"}}},
	{Name: "keys add", Use: "POSTDIR [flags]", Hidden: true,
		Long: "Copy POSTDIR/identity.key (written by postcli) into the node's identities/ folder, after\nchecking it against POSTDIR's metadata; shows what it will do and asks first. With several\n[[node]]s, --node picks the node (default: the first), and a key another node holds is\nrefused unless --place-anyway gives the identity's first 8 hex characters.",
		Args: [][2]string{{"POSTDIR", "the PoST data directory holding identity.key and postdata_metadata.json"}}},
	{Name: "keys list", Use: "[--json]", Hidden: true,
		Long: "List every key file: its identity, its PoST dir and service, whether the node has it, and\nits problems with what to do."},
	{Name: "keys check", Use: "[--wait]", Hidden: true,
		Long: "After restarting the node: confirm it reports every key file (--wait asks until it does)."},
	{Name: "migrate", Use: "", Short: "the migration wizard: merge old nodes' identities into the configured node",
		Long: "Open the migration wizard full-screen: the guide's steps for moving old nodes' identities\nonto the configured node, each checked before the next."},
	{Name: "merge", Use: "--from OLD_NODE_DATA [--from OLD2 …] --to NODE_DATA [--dry-run] [--yes] | --recover --to NODE_DATA",
		Short: "merge old nodes' identities into a node data folder, safely",
		Long:  "Merge the identities of old node data folders (--from, read only) into a node data folder\n(--to), after a plan that refuses what would lose or duplicate an identity; --recover\nfinishes or undoes an interrupted merge."},
	{Name: "serve", Use: "--authorized-keys FILE [flags]", Short: "serve the dashboard over SSH (public keys only; actions audited)",
		Long: "Serve the dashboard over SSH to the keys in --authorized-keys (read-only to those in\n--readonly-keys), every action audited; a session with a command (status, start, stop,\nrestart, logs, version) runs it without a terminal."},
	{Name: "sim", Use: "[--ids N] [--dir D]", Short: "run the simulated node headless and write a config for it",
		Long: "Run the simulated node headless and write a config for it, to try the command line without\na node."},
	{Name: "sim-service", Use: "--address URL --dir D [--operator-address A] [post-service flags] [--speed X]",
		Short: "run one simulated post-service (post-rs's command line);\npostdeck started under the name post-service does the same",
		Long:  "Run one simulated post-service, taking post-rs's command line, so postdeck's supervisor\nstarts it as it starts a real one; postdeck started under the name post-service does the same."},
	{Name: "version", Use: "[--node]", Short: "print postdeck's version; --node: the nodes' and each bin's too",
		Long: "Print postdeck's module version, VCS revision and toolchain; with --node, each node's\nversion and each configured post-service bin's --version."},
	{Name: "help", Use: "[COMMAND]", Short: "this text; with COMMAND, that command's --help", Long: "Print the top-level usage and the global flags; with COMMAND, that command's --help.",
		Args: [][2]string{{"COMMAND", "a command, such as start or \"keys add\""}}},
}

// HelpFor is the help of the command called name, nil when it has none.
func HelpFor(name string) *Help {
	for i := range Commands {
		if Commands[i].Name == name {
			return &Commands[i]
		}
	}
	return nil
}

// usageColumn is where the descriptions of the top-level usage begin.
const usageColumn = 36

// TopUsage is the command list of `postdeck help`, one command a line,
// descriptions in one column; a synopsis too long for it puts its
// description on the lines under it. Widths count runes, so "NAME…" is
// five columns as a terminal shows it.
func TopUsage() string {
	var b strings.Builder
	for _, h := range Commands {
		if h.Hidden {
			continue
		}
		syn := "  postdeck"
		if h.Name != "dashboard" {
			syn += " " + h.Name
		}
		if h.Use != "" {
			syn += " " + h.Use
		}
		lines := strings.Split(h.Short, "\n")
		b.WriteString(syn)
		if n := utf8.RuneCountInString(syn); n < usageColumn-1 {
			b.WriteString(strings.Repeat(" ", usageColumn-n))
		} else {
			b.WriteString("\n" + strings.Repeat(" ", usageColumn))
		}
		b.WriteString(strings.Join(lines, "\n"+strings.Repeat(" ", usageColumn)) + "\n")
	}
	return b.String()
}

// globalFlags are the flags every command takes (Common.register).
var globalFlags = map[string]bool{"config": true, "interval": true, "timeout": true, "theme": true}

// IsGlobalFlag tells whether name is one of the flags every command takes.
func IsGlobalFlag(name string) bool { return globalFlags[name] }

// setUsage makes fs's --help the command's own: what it does, its
// arguments, its own flags and the pointer to the global ones. notes, when
// given, go after the flags.
func setUsage(fs *flag.FlagSet, notes string) {
	fs.Usage = func() { writeUsage(fs.Output(), fs, notes) }
}

// UsageNotes adds notes (such as the simulator's signals) to fs's --help,
// after its flags.
func UsageNotes(fs *flag.FlagSet, notes string) { setUsage(fs, notes) }

func writeUsage(w io.Writer, fs *flag.FlagSet, notes string) {
	name := fs.Name()
	h := HelpFor(name)
	if h == nil {
		h = &Help{Name: name}
	}
	syn := "postdeck " + h.Name
	if h.Name == "dashboard" {
		syn = "postdeck"
	}
	if h.Use != "" {
		syn += " " + h.Use
	}
	fmt.Fprintf(w, "Usage: %s\n", syn)
	if h.Long != "" {
		fmt.Fprintf(w, "\n%s\n", h.Long)
	}
	if len(h.Args) > 0 {
		fmt.Fprint(w, "\nArguments:\n")
		width := 0
		for _, a := range h.Args {
			width = max(width, utf8.RuneCountInString(a[0]))
		}
		for _, a := range h.Args {
			pad := strings.Repeat(" ", width-utf8.RuneCountInString(a[0]))
			fmt.Fprintf(w, "  %s%s  %s\n", a[0], pad, a[1])
		}
	}
	own := false
	fs.VisitAll(func(f *flag.Flag) {
		if globalFlags[f.Name] {
			return
		}
		if !own {
			fmt.Fprint(w, "\nFlags:\n")
			own = true
		}
		writeFlag(w, f)
	})
	if notes != "" {
		fmt.Fprintf(w, "\n%s", strings.TrimRight(notes, "\n")+"\n")
	}
	fmt.Fprintf(w, "\n%s\n", GlobalPointer)
}

// writeFlag prints one flag as flag.PrintDefaults does, with two dashes
// as the README writes them, and its default only when its text does not
// say it already.
func writeFlag(w io.Writer, f *flag.Flag) {
	dashes := "--"
	if len(f.Name) == 1 {
		dashes = "-"
	}
	arg, usage := flag.UnquoteUsage(f)
	line := "  " + dashes + f.Name
	if arg != "" {
		line += " " + arg
	}
	if !zeroDefault(f) && !strings.Contains(usage, "(default") {
		def := f.DefValue
		if arg == "string" {
			def = fmt.Sprintf("%q", def)
		}
		usage += " (default " + def + ")"
	}
	fmt.Fprintf(w, "%s\n      %s\n", line, strings.ReplaceAll(usage, "\n", "\n      "))
}

// zeroDefault tells whether a flag's default is its type's zero value,
// which goes without saying.
func zeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}
