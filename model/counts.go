package model

import (
	"fmt"
	"strings"
)

// Counts summarise a snapshot: the one tally behind every count shown (the
// dashboard's header and its node lines, the migration wizard's header,
// `postdeck status` and its exit code), so no two of them disagree.
type Counts struct {
	Identities int
	Node       map[NodeState]int
	Service    map[ServiceState]int
	// Critical rows have a critical flag (the table's "!"); Warned rows
	// have another flag that needs a look (the table's "*", Row.Warned).
	Critical int
	Warned   int
	// ByNode is each node's share, by NodeLabel(host, node).
	ByNode map[string]NodeCounts
}

// NodeCounts is one node's share of the rows.
type NodeCounts struct {
	Identities, Critical, Warned int
}

// NodeCounted and ServiceCounted are the states counts name, in the order
// they are shown. A service idle or without a service is the common case
// and says nothing, so it is not listed.
var (
	NodeCounted    = []NodeState{NodeProving, NodeIdle, NodeUnused, NodeAbsent, NodeUnknown}
	ServiceCounted = []ServiceState{ServiceProving, ServiceDone, ServiceUnreachable, ServiceUnknown, ServiceStopped}
)

// Count tallies rows by node state, service state and health.
func (s *Snapshot) Count() Counts {
	c := Counts{Identities: len(s.Rows), Node: map[NodeState]int{}, Service: map[ServiceState]int{}, ByNode: map[string]NodeCounts{}}
	for i := range s.Rows {
		r := &s.Rows[i]
		c.Node[r.NodeState]++
		c.Service[r.ServiceState]++
		label := NodeLabel(r.Host, r.Node)
		n := c.ByNode[label]
		n.Identities++
		switch {
		case r.Critical():
			c.Critical++
			n.Critical++
		case r.Warned():
			c.Warned++
			n.Warned++
		}
		c.ByNode[label] = n
	}
	return c
}

// Warned reports a flag that needs a look. A proof awaiting fetch is the
// normal last step of proving, so it alone does not count.
func (r *Row) Warned() bool {
	for _, h := range r.Health {
		if h != HealthAwaitingFetch {
			return true
		}
	}
	return false
}

// Text is the counts in one line: "12 identities · 1 critical · 7
// warnings · node PROVING 9, IDLE 2 · services proving 3, stopped 6".
func (c *Counts) Text() string {
	parts := []string{fmt.Sprintf("%d identities", c.Identities)}
	if c.Critical > 0 {
		parts = append(parts, fmt.Sprintf("%d critical", c.Critical))
	}
	if c.Warned > 0 {
		parts = append(parts, countOf(c.Warned, "warning"))
	}
	var states []string
	for _, st := range NodeCounted {
		if n := c.Node[st]; n > 0 {
			states = append(states, fmt.Sprintf("%s %d", st, n))
		}
	}
	if len(states) > 0 {
		parts = append(parts, "node "+strings.Join(states, ", "))
	}
	states = states[:0]
	for _, st := range ServiceCounted {
		if n := c.Service[st]; n > 0 {
			states = append(states, fmt.Sprintf("%s %d", st, n))
		}
	}
	if len(states) > 0 {
		parts = append(parts, "services "+strings.Join(states, ", "))
	}
	return strings.Join(parts, " · ")
}

// countOf is "1 warning", "7 warnings".
func countOf(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
