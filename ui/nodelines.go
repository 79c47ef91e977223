package ui

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"postdeck/model"
	"postdeck/themes"
)

// maxNodeLines is the most lines the header gives the nodes: with more
// nodes the last line counts the rest, the ones in trouble shown first.
const maxNodeLines = 4

// localNode names this machine's node when the config leaves it unnamed
// and another host's nodes are shown beside it.
const localNode = "local"

// nodeCell is the NODE column's text: the row's node, under its host.
func nodeCell(r *model.Row) string {
	if l := model.NodeLabel(r.Host, r.Node); l != "" {
		return l
	}
	return localNode
}

// nodeName is a node's name in the header's lines.
func nodeName(n *model.NodeStatus) string {
	if l := n.Label(); l != "" {
		return l
	}
	return localNode
}

// fleet says whether the snapshot holds several nodes.
func (m *Model) fleet() bool { return m.snap != nil && len(m.snap.Nodes) > 1 }

func nodeLineCount(s *model.Snapshot) int {
	if len(s.Nodes) < 2 {
		return 0
	}
	return min(len(s.Nodes), maxNodeLines)
}

// fleetSegments sum the nodes up on the first header line: how many, and
// how many are down or not synced (the node lines below say which).
func fleetSegments(nodes []model.NodeStatus) []segment {
	down, unsynced := 0, 0
	for i := range nodes {
		switch n := &nodes[i]; {
		case !n.Up():
			down++
		case n.View.HasStatus && !n.View.Synced:
			unsynced++
		}
	}
	segs := []segment{{text: fmt.Sprintf("%d nodes", len(nodes)), prio: 3}}
	if down > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d DOWN", down), tone: themes.ToneDanger, prio: prioMust})
	}
	if unsynced > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d NOT SYNCED", unsynced), tone: themes.ToneWarn, prio: 7})
	}
	return segs
}

// nodeLines are the header's lines of a fleet, one per node shown: its
// name, version, sync, layer, peers, identities and when it last
// answered. With more nodes than lines, the nodes in trouble come first
// and the last line counts the others.
func (m *Model) nodeLines() string {
	if m.nodeLineCount == 0 || m.snap == nil {
		return ""
	}
	nodes := slices.Clone(m.snap.Nodes)
	shown := m.nodeLineCount
	if len(nodes) > shown {
		slices.SortStableFunc(nodes, func(a, b model.NodeStatus) int { return cmp.Compare(nodeTrouble(&b), nodeTrouble(&a)) })
		shown--
	}
	rows := m.counts.ByNode
	width := 0
	for i := range nodes[:shown] {
		width = max(width, cellWidth(nodeName(&nodes[i])))
	}
	var b strings.Builder
	for i := range nodes[:shown] {
		b.WriteByte('\n')
		b.WriteString(m.fitSegments(m.nodeSegments(&nodes[i], rows[nodes[i].Label()], width), false, m.width))
	}
	if rest := nodes[shown:]; len(rest) > 0 {
		b.WriteByte('\n')
		b.WriteString(m.fitSegments([]segment{restSegment(rest)}, false, m.width))
	}
	return b.String()
}

// nodeTrouble orders nodes for the header: down, then not synced, then fine.
func nodeTrouble(n *model.NodeStatus) int {
	switch {
	case !n.Up():
		return 2
	case n.View.HasStatus && !n.View.Synced:
		return 1
	}
	return 0
}

// nodeSegments is one node's header line; its name is padded to width so
// the lines' facts line up.
func (m *Model) nodeSegments(n *model.NodeStatus, c model.NodeCounts, width int) []segment {
	name := printable(nodeName(n), false)
	segs := []segment{{text: "  " + name + strings.Repeat(" ", max(0, width-cellWidth(name))), tone: themes.ToneAccent, prio: 10}}
	if !n.Up() {
		// DOWN stays at any width; why gives way to the time it last answered.
		segs = append(segs, segment{text: "DOWN", tone: themes.ToneDanger, prio: 9})
		if len(n.View.Errors) > 0 {
			segs = append(segs, segment{text: printable(firstClause(n.View.Errors[0].Message), false), tone: themes.ToneWarn, prio: 6})
		}
		if n.LastAnswer.IsZero() {
			segs = append(segs, segment{text: "no answer yet", tone: themes.ToneMuted, prio: 8})
		} else {
			segs = append(segs, segment{text: "last answer " + age(m.now().Sub(n.LastAnswer)) + " ago", tone: themes.ToneWarn, prio: 8})
		}
		return segs
	}
	v := &n.View
	if v.Version != "" {
		segs = append(segs, segment{text: v.Version, prio: 3})
	}
	if v.HasStatus {
		if v.Synced {
			segs = append(segs, segment{text: "synced", tone: themes.ToneOK, prio: 5})
		} else {
			segs = append(segs, segment{text: "NOT SYNCED", tone: themes.ToneWarn, prio: 7})
		}
		segs = append(segs, segment{text: fmt.Sprintf("layer %d", v.TopLayer), prio: 2},
			segment{text: fmt.Sprintf("%d peers", v.Peers), prio: 3})
	}
	ids := c.Identities
	word := "identities"
	if ids == 1 {
		word = "identity"
	}
	segs = append(segs, segment{text: fmt.Sprintf("%d %s", ids, word), prio: 4})
	// The node's share of the header's alarms, from the same count.
	if c.Critical > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d critical", c.Critical), tone: themes.ToneDanger, prio: 9})
	}
	if c.Warned > 0 {
		segs = append(segs, segment{text: fmt.Sprintf("%d warning", c.Warned) + plural(c.Warned), tone: themes.ToneWarn, prio: 8})
	}
	if len(v.Errors) > 0 {
		segs = append(segs, segment{text: compactError(v.Errors[0]), tone: themes.ToneWarn, prio: 6})
	}
	return segs
}

// restSegment counts the nodes the header has no line for.
func restSegment(rest []model.NodeStatus) segment {
	trouble := 0
	for i := range rest {
		if nodeTrouble(&rest[i]) > 0 {
			trouble++
		}
	}
	if trouble == 0 {
		return segment{text: fmt.Sprintf("  +%d more nodes, all up and synced", len(rest)), tone: themes.ToneMuted, prio: 5}
	}
	return segment{text: fmt.Sprintf("  +%d more nodes, %d of them down or not synced", len(rest), trouble), tone: themes.ToneWarn, prio: 5}
}
