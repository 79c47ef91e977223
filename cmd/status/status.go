package status

import (
	"io"

	"postdeck/cmd/common"
)

// Run prints one snapshot, as a table or as JSON, for scripts and cron.
// Exit code: 0 fine, 2 when any identity is critical, 4 when none is but a
// node cannot be reached (model.Snapshot.ExitCode), 1 on usage/config errors.
func Run(g *common.Common, args []string, stdout, stderr io.Writer) int {
	fs := common.NewFlagSet("status", g, stderr)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	once, code, ok := common.PollOnce(g, fs, args, stderr)
	if !ok {
		return code
	}
	defer once.Session.Close()
	snap := once.Snap
	if *asJSON {
		if err := common.WriteJSON(stdout, snap.Doc()); err != nil {
			return common.Fail(stderr, err)
		}
	} else {
		io.WriteString(stdout, snap.StatusText())
	}
	return snap.ExitCode()
}
