package model

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// The equivocation guard: before `keys add`, a merge or the wizard places a
// key on a node of a fleet, every node is asked what it holds (backend's
// AskFleet fills a FleetKeys), and Conflict decides whether the key may go.
// What is compared is the 32-byte public key, byte for byte, whichever way a
// node holds it.

// HowListed is a KeyHolder's How for a key the node itself reports (in
// SmesherIDs or PostStates): it runs that identity now.
const HowListed = "listed by the node"

// KeyHolder is one way one node holds an identity.
type KeyHolder struct {
	Node string
	// How: HowListed, or "key file identities/post03.key" (loaded or not:
	// the node loads it at its next start).
	How string
}

// NodeGap is a node of the fleet that could not be asked in full. Listing
// is why its own list (SmesherIDs, PostStates) was not compared, KeyFiles
// why its identities/ folder was not; "" where that part was compared.
// NoFolder says the node has no data_folder configured, so it has no key
// files to compare (not a failure).
type NodeGap struct {
	Node              string
	Listing, KeyFiles string
	NoFolder          bool
}

// Blind says nothing of the node was compared: neither its list nor its
// key files.
func (g NodeGap) Blind() bool { return g.Listing != "" && (g.KeyFiles != "" || g.NoFolder) }

// What is the gap in words: "node3 did not answer (…) and its key folder
// could not be read (…): its keys were not compared".
func (g NodeGap) What() string {
	switch {
	case g.Blind() && g.NoFolder:
		return fmt.Sprintf("%s did not answer (%s) and has no data_folder configured: its keys were not compared", g.Node, g.Listing)
	case g.Blind():
		return fmt.Sprintf("%s did not answer (%s) and its key folder could not be read (%s): its keys were not compared", g.Node, g.Listing, g.KeyFiles)
	case g.Listing != "":
		return fmt.Sprintf("%s did not answer (%s): the identities it runs were not compared, only its key files", g.Node, g.Listing)
	}
	return fmt.Sprintf("%s's key folder could not be read (%s): only the identities it lists were compared", g.Node, g.KeyFiles)
}

// FleetKeys is what every node of a fleet holds, by public key.
type FleetKeys struct {
	Nodes   []string               // every node asked, in the config's order
	Holders map[string][]KeyHolder // by string(public key)
	Gaps    []NodeGap              // the nodes not asked in full
}

// Hold records that node holds id in the way how (once per way).
func (f *FleetKeys) Hold(id []byte, node, how string) {
	if f.Holders == nil {
		f.Holders = map[string][]KeyHolder{}
	}
	h := KeyHolder{Node: node, How: how}
	if !slices.Contains(f.Holders[string(id)], h) {
		f.Holders[string(id)] = append(f.Holders[string(id)], h)
	}
}

// KeyConflict is the verdict on placing one identity on a target node:
// which other nodes hold it, and which could not be compared.
type KeyConflict struct {
	ID      []byte
	Target  string      // the node the key goes to; "" when no configured node
	Holders []KeyHolder // other nodes holding it, by node
	Blind   []NodeGap   // other nodes of which nothing was compared
	Partial []NodeGap   // other nodes compared in part (not a refusal)
}

// Conflict decides for id placed on target: the holders other than the
// target, and the other nodes not asked in full. A nil f (no fleet) never
// conflicts.
func (f *FleetKeys) Conflict(id []byte, target string) KeyConflict {
	c := KeyConflict{ID: id, Target: target}
	if f == nil {
		return c
	}
	for _, h := range f.Holders[string(id)] {
		if h.Node != target {
			c.Holders = append(c.Holders, h)
		}
	}
	order := func(n string) int { return slices.Index(f.Nodes, n) }
	slices.SortStableFunc(c.Holders, func(a, b KeyHolder) int { return cmp.Compare(order(a.Node), order(b.Node)) })
	for _, g := range f.Gaps {
		switch {
		case g.Node == target:
		case g.Blind():
			c.Blind = append(c.Blind, g)
		default:
			c.Partial = append(c.Partial, g)
		}
	}
	return c
}

// Refused says the key must not be placed without an override: another
// node holds it, or a node could not be compared at all (unknown is not
// safe: an identity on two nodes is banned for good).
func (c KeyConflict) Refused() bool { return len(c.Holders) > 0 || len(c.Blind) > 0 }

// OverridePrefix is what an operator types to place the key anyway: the
// identity's first 8 hex characters.
func (c KeyConflict) OverridePrefix() string { return ShortID(c.ID, 8) }

// Overridden says one of typed is the identity's first 8 hex characters
// (either case, spaces around ignored).
func (c KeyConflict) Overridden(typed []string) bool {
	for _, t := range typed {
		t = strings.ToLower(strings.TrimSpace(t))
		if len(t) == 8 && t == c.OverridePrefix() {
			return true
		}
	}
	return false
}

// HolderText is the holders grouped by node: "node1 (listed by the node,
// key file identities/post01.key)".
func (c KeyConflict) HolderText() string {
	var parts []string
	for i := 0; i < len(c.Holders); {
		j := i
		var hows []string
		for j < len(c.Holders) && c.Holders[j].Node == c.Holders[i].Node {
			hows = append(hows, c.Holders[j].How)
			j++
		}
		parts = append(parts, c.Holders[i].Node+" ("+strings.Join(hows, ", ")+")")
		i = j
	}
	return strings.Join(parts, " and ")
}

// Reason is the refusal in words, without the override (each caller names
// its own): who holds the identity and how, why that refuses, and the
// nodes not compared. "" when not refused.
func (c KeyConflict) Reason() string {
	if !c.Refused() {
		return ""
	}
	where := "here"
	if c.Target != "" {
		where = "on " + c.Target
	}
	id := ShortID(c.ID, 12) + "…"
	var s string
	if len(c.Holders) > 0 {
		s = fmt.Sprintf("identity %s is already held by %s: placing it %s too would run one identity on two nodes, which is equivocation, and the identity is banned for good", id, c.HolderText(), where)
	} else {
		s = fmt.Sprintf("identity %s could not be compared with every node of the fleet, and placing an identity a node already holds would run it twice, which is equivocation, and the identity is banned for good", id)
	}
	for _, g := range c.Blind {
		s += "; " + g.What()
	}
	return s
}

// Notes are the partial gaps, worth saying beside a placement that goes on.
func (c KeyConflict) Notes() []string {
	var out []string
	for _, g := range c.Partial {
		out = append(out, g.What())
	}
	return out
}

// Holdings is the holders and blind nodes as short lines, for an audit
// entry: "node1: listed by the node", "node3: not compared".
func (c KeyConflict) Holdings() []string {
	var out []string
	for _, h := range c.Holders {
		out = append(out, h.Node+": "+h.How)
	}
	for _, g := range c.Blind {
		out = append(out, g.Node+": not compared")
	}
	return out
}
