package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"postdeck/cmd/common"
	"postdeck/model"
)

// Run prints one snapshot, as a table or as JSON, for scripts and cron.
// Exit code: 0 fine, 2 when any identity is critical, 1 on usage/config errors.
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
		printStatus(stdout, &snap)
	}
	return snap.ExitCode()
}

// printStatus writes the snapshot as a plain table a person can read in a log.
func printStatus(w io.Writer, s *model.Snapshot) {
	n := s.Node
	if n.HasStatus {
		fmt.Fprintf(w, "node %s  synced=%v  top layer %d  peers %d\n", n.Version, n.Synced, n.TopLayer, n.Peers)
	}
	for _, e := range n.Errors {
		fmt.Fprintf(w, "%s: %s\n", e.Source, e.Message)
	}
	if s.KeysErr != "" {
		fmt.Fprintf(w, "keys: %s\n", s.KeysErr)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tNODE\tSERVICE\tSTATE\tPROGRESS\tSIZE\tPID\tHEALTH")
	for i := range s.Rows {
		r := &s.Rows[i]
		size := ""
		if r.SizeBytes > 0 {
			size = model.HumanBytes(r.SizeBytes)
		}
		pid := ""
		if r.Proc.PID > 0 {
			pid = strconv.Itoa(r.Proc.PID)
		}
		state := r.ServiceState.String()
		if r.PendingStop {
			state += " (stop pending)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", common.Dash(r.Name), common.Dash(model.ShortID(r.ID, 12)), r.NodeState, common.Dash(r.Service),
			state, common.Dash(strings.TrimSpace(model.ProgressCell(r.Progress))), common.Dash(size), common.Dash(pid), common.Dash(healthText(r.Health)))
	}
	tw.Flush()
	for i := range s.Rows {
		for _, e := range s.Rows[i].Errors {
			fmt.Fprintf(w, "%s: %s: %s\n", s.Rows[i].Label(), e.Source, e.Message)
		}
	}
}

func healthText(hs []model.Health) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = string(h)
	}
	return strings.Join(parts, ",")
}
