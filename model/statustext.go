package model

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// StatusText is the snapshot as `postdeck status` prints it: a plain
// table a person can read in a log or over `ssh host status`.
func (s *Snapshot) StatusText() string {
	var b strings.Builder
	w := &b
	fleet := len(s.Nodes) > 1
	if !fleet {
		printNode(w, "", s.Node, s.KeysErr)
	}
	for i := range s.Nodes {
		if n := &s.Nodes[i]; fleet {
			printNode(w, n.Name+": ", n.View, n.KeysErr)
			if !n.Up() {
				fmt.Fprintf(w, "node %s: down, %s\n", n.Name, lastAnswerText(n))
			}
		}
	}
	c := s.Count()
	fmt.Fprintln(w, c.Text()) // the dashboard's header counts the same (Count)
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
			size = HumanBytes(r.SizeBytes)
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
			fmt.Fprint(tw, dash(r.Node)+"\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(r.Name), dash(ShortID(r.ID, 12)), r.NodeState, dash(r.Service),
			state, dash(strings.TrimSpace(ProgressCell(r.Progress))), dash(size), dash(pid), dash(healthList(r.Health)))
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
	return b.String()
}

// printNode writes what one node said, and its errors, each line after
// prefix (the node's name in a fleet).
func printNode(w io.Writer, prefix string, n NodeView, keysErr string) {
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

func lastAnswerText(n *NodeStatus) string {
	if n.LastAnswer.IsZero() {
		return "no answer yet"
	}
	return "last answer " + n.LastAnswer.UTC().Format(time.RFC3339)
}

func healthList(hs []Health) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = string(h)
	}
	return strings.Join(parts, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
