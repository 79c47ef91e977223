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
	Host    string // the [[host]] that reported it, "" for this machine's
	Name    string
	View    NodeView
	KeysErr string
	// LastAnswer is when the node last answered a poll (zero: not since
	// postdeck started); set by the poller.
	LastAnswer time.Time
}

// Label names the node for a person: "node1", "rig2/node1", or "rig2"
// for another host's unnamed node.
func (n *NodeStatus) Label() string { return NodeLabel(n.Host, n.Name) }

// NodeLabel names a node of host for a person (see NodeStatus.Label).
func NodeLabel(host, node string) string {
	switch {
	case host == "":
		return node
	case node == "":
		return host
	}
	return host + "/" + node
}

// Part is one node's snapshot on its way into a fleet's (MergeNodes):
// this machine's (Host "") or another host's.
type Part struct {
	Host, Node string
	Snap       Snapshot
}

// Up says whether the node answered at least one of its listeners.
func (n *NodeStatus) Up() bool {
	v := &n.View
	return v.HasStatus || v.HasPostStates || v.HasSmesherIDs
}

// MergeNodes joins the snapshots of several nodes (each Join's over one
// node's inputs, or another host's) into one: every row tagged with its
// host and node and keyed under them, the first node's view as Node, all
// of them in Nodes, the events of all in time order, and every identity
// held by more than one node flagged on each of its rows (CheckFleet).
// One snapshot of this machine's one node comes back as it is.
func MergeNodes(parts []Part) Snapshot {
	if len(parts) == 1 && parts[0].Host == "" && parts[0].Node == "" {
		return parts[0].Snap
	}
	out := Snapshot{Node: parts[0].Snap.Node, At: parts[0].Snap.At}
	n := 0
	for i := range parts {
		n += len(parts[i].Snap.Rows)
	}
	out.Rows = make([]Row, 0, n)
	var keysErrs []string
	for _, pt := range parts {
		p := &pt.Snap
		label := NodeLabel(pt.Host, pt.Node)
		out.Nodes = append(out.Nodes, NodeStatus{Host: pt.Host, Name: pt.Node, View: p.Node, KeysErr: p.KeysErr})
		if p.KeysErr != "" {
			keysErrs = append(keysErrs, label+": "+p.KeysErr)
		}
		out.Duration = max(out.Duration, p.Duration)
		out.Events = append(out.Events, p.Events...)
		for _, r := range p.Rows {
			r.Host, r.Node = pt.Host, pt.Node
			r.Key = pt.Host + "/" + pt.Node + "/" + r.Key
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
// start), on this machine or another host. Rows of one node are left to
// Join's own duplicate check.
func CheckFleet(rows []Row) {
	holders := map[string][]string{}
	for i := range rows {
		r := &rows[i]
		if !r.Held || len(r.ID) == 0 {
			continue
		}
		id, at := string(r.ID), NodeLabel(r.Host, r.Node)
		if !slices.Contains(holders[id], at) {
			holders[id] = append(holders[id], at)
		}
	}
	for i := range rows {
		r := &rows[i]
		nodes := holders[string(r.ID)]
		if len(nodes) < 2 || !r.Held || r.Has(HealthOnTwoNodes) {
			continue
		}
		r.Health = append([]Health{HealthOnTwoNodes}, r.Health...) // critical: shown first
		self := NodeLabel(r.Host, r.Node)
		others := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == self })
		slices.SortFunc(others, cmp.Compare)
		r.Errors = append(r.Errors, SourceError{Source: "fleet", Message: fmt.Sprintf(
			"node %s holds this identity too: two nodes publishing for one key equivocate and the identity is banned for good — remove its key file from all but one node and restart that node",
			strings.Join(others, ", "))})
	}
}
