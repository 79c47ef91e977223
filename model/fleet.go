package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NodeStatus is one node's part of a snapshot: its name in the config
// ("" when the config has one node), what it said, and how its key
// folder read.
type NodeStatus struct {
	Name    string
	View    NodeView
	KeysErr string
	// LastAnswer is when the node last answered a poll (zero: not since
	// postdeck started); set by the poller.
	LastAnswer time.Time
}

// Up says whether the node answered at least one of its listeners.
func (n *NodeStatus) Up() bool {
	v := &n.View
	return v.HasStatus || v.HasPostStates || v.HasSmesherIDs
}

// MergeNodes joins the snapshots of several nodes (each Join's over one
// node's inputs, named by names) into one: every row tagged with its node
// and keyed under it, the first node's view as Node, all of them in
// Nodes, the events of all in time order, and every identity held by more
// than one node flagged on each of its rows (CheckFleet). One snapshot
// comes back as it is.
func MergeNodes(names []string, parts []Snapshot) Snapshot {
	if len(parts) == 1 && names[0] == "" {
		return parts[0]
	}
	out := Snapshot{Node: parts[0].Node, At: parts[0].At}
	n := 0
	for i := range parts {
		n += len(parts[i].Rows)
	}
	out.Rows = make([]Row, 0, n)
	var keysErrs []string
	for i, p := range parts {
		out.Nodes = append(out.Nodes, NodeStatus{Name: names[i], View: p.Node, KeysErr: p.KeysErr})
		if p.KeysErr != "" {
			keysErrs = append(keysErrs, names[i]+": "+p.KeysErr)
		}
		out.Duration = max(out.Duration, p.Duration)
		out.Events = append(out.Events, p.Events...)
		for _, r := range p.Rows {
			r.Node = names[i]
			r.Key = names[i] + "/" + r.Key
			out.Rows = append(out.Rows, r)
		}
	}
	out.KeysErr = strings.Join(keysErrs, "; ")
	slices.SortStableFunc(out.Events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	CheckFleet(out.Rows)
	return out
}

// CheckFleet flags every row whose identity is held (Row.Held) by two or
// more nodes: the public keys are compared byte for byte, whichever way
// each node holds it (listed by PostStates or SmesherIDs, or a key file
// in its identities folder, loaded or not — a node loads it at its next
// start). Rows of one node are left to Join's own duplicate check.
func CheckFleet(rows []Row) {
	holders := map[string][]string{}
	for i := range rows {
		r := &rows[i]
		if !r.Held || len(r.ID) == 0 {
			continue
		}
		id := string(r.ID)
		if !slices.Contains(holders[id], r.Node) {
			holders[id] = append(holders[id], r.Node)
		}
	}
	for i := range rows {
		r := &rows[i]
		nodes := holders[string(r.ID)]
		if len(nodes) < 2 || !r.Held || r.Has(HealthOnTwoNodes) {
			continue
		}
		r.Health = append([]Health{HealthOnTwoNodes}, r.Health...) // critical: shown first
		others := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == r.Node })
		slices.SortFunc(others, cmp.Compare)
		r.Errors = append(r.Errors, SourceError{Source: "fleet", Message: fmt.Sprintf(
			"node %s holds this identity too: two nodes publishing for one key equivocate and the identity is banned for good — remove its key file from all but one node and restart that node",
			strings.Join(others, ", "))})
	}
}
