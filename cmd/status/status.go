package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

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
	fleet := len(s.Nodes) > 1
	if !fleet {
		printNode(w, "", s.Node, s.KeysErr)
	}
	for i := range s.Nodes {
		if n := &s.Nodes[i]; fleet {
			printNode(w, n.Name+": ", n.View, n.KeysErr)
			if !n.Up() {
				fmt.Fprintf(w, "node %s: down, %s\n", n.Name, lastAnswer(n))
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	state := "NODE" // what the node says of the identity; ON NODE beside the NODE a fleet's rows are on
	if fleet {
		fmt.Fprint(tw, "NODE\t")
		state = "ON NODE"
	}
	fmt.Fprintln(tw, "NAME\tID\t"+state+"\tSERVICE\tSTATE\tPROGRESS\tSIZE\tPID\tHEALTH")
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
		if fleet {
			fmt.Fprint(tw, common.Dash(r.Node)+"\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", common.Dash(r.Name), common.Dash(model.ShortID(r.ID, 12)), r.NodeState, common.Dash(r.Service),
			state, common.Dash(strings.TrimSpace(model.ProgressCell(r.Progress))), common.Dash(size), common.Dash(pid), common.Dash(healthText(r.Health)))
	}
	tw.Flush()
	for i := range s.Rows {
		r := &s.Rows[i]
		where := r.Label()
		if fleet {
			where = r.Node + " " + where
		}
		for _, e := range r.Errors {
			fmt.Fprintf(w, "%s: %s: %s\n", where, e.Source, e.Message)
		}
	}
}

// printNode writes what one node said, and its errors, each line after
// prefix (the node's name in a fleet).
func printNode(w io.Writer, prefix string, n model.NodeView, keysErr string) {
	if n.HasStatus {
		fmt.Fprintf(w, "%snode %s  synced=%v  top layer %d  peers %d\n", prefix, n.Version, n.Synced, n.TopLayer, n.Peers)
	}
	for _, e := range n.Errors {
		fmt.Fprintf(w, "%s%s: %s\n", prefix, e.Source, e.Message)
	}
	if keysErr != "" {
		fmt.Fprintf(w, "%skeys: %s\n", prefix, keysErr)
	}
}

func lastAnswer(n *model.NodeStatus) string {
	if n.LastAnswer.IsZero() {
		return "no answer yet"
	}
	return "last answer " + n.LastAnswer.UTC().Format(time.RFC3339)
}

func healthText(hs []model.Health) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = string(h)
	}
	return strings.Join(parts, ",")
}
