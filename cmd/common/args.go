package common

import (
	"fmt"
	"io"
)

// Subcommand splits the arguments of a command of commands (group, such
// as "keys") into the nested command's word and its arguments. The global
// flags given between the two (`postdeck keys --config F list`) are taken
// here, as everywhere else, and the nested command's own parse keeps them
// as its defaults. With no word, or --help, it prints the group's usage.
// When ok is false, return code.
func Subcommand(g *Common, group string, args []string, stderr io.Writer) (sub string, rest []string, code int, ok bool) {
	fs := NewFlagSet(group, g, stderr)
	if err := fs.Parse(args); err != nil {
		return "", nil, ExitForFlagErr(err), false
	}
	switch fs.Arg(0) {
	case "":
		fs.Usage()
		return "", nil, 1, false
	case "help": // as `postdeck keys --help`
		fs.Usage()
		return "", nil, 0, false
	}
	return fs.Arg(0), fs.Args()[1:], 0, true
}

// UnknownSubcommand says that group has no command sub, and returns the
// exit code.
func UnknownSubcommand(group, sub string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "postdeck %s: unknown command %q (see postdeck %s --help)\n", group, sub, group)
	return 1
}
