package ui

import (
	"strings"
	"testing"
	"time"

	"postdeck/model"
)

// fleetDemo is demo() spread over three nodes, node3 down, and post0.key
// also held by node2.
func fleetDemo() model.Snapshot {
	one := demo()
	parts := make([]model.Snapshot, 3)
	for i := range parts {
		parts[i] = model.Snapshot{Node: one.Node, At: one.At}
	}
	for i, r := range one.Rows {
		r.Held = r.NodeState != model.NodeUnknown
		parts[i%2].Rows = append(parts[i%2].Rows, r)
	}
	twin := one.Rows[0]
	twin.Service, twin.Held = "", true
	parts[1].Rows = append(parts[1].Rows, twin)
	parts[2].Node = model.NodeView{Errors: []model.SourceError{{Source: "node/post", Message: "post listener 10.0.0.3:9094: connection refused — is the node running?"}}}
	s := model.MergeNodes([]model.Part{{Node: "alpha", Snap: parts[0]}, {Node: "beta", Snap: parts[1]}, {Node: "gamma", Snap: parts[2]}})
	s.Nodes[2].LastAnswer = testNow.Add(-5 * time.Minute)
	return s
}

func TestAFleetShowsItsNodesInTheHeaderAndTheTable(t *testing.T) {
	s := fleetDemo()
	for _, w := range []int{80, 120, 200} {
		m := newTest(t, w, 30, &s)
		v := screen(m)
		lines := strings.Split(v, "\n")
		mustContain(t, v, "3 nodes", "1 DOWN", "NODE", "ON NODE", "alpha", "beta")
		// One line per node under the counts, the down one saying since when.
		if !strings.Contains(lines[2], "alpha") || !strings.Contains(lines[3], "beta") || !strings.Contains(lines[4], "gamma") {
			t.Fatalf("width %d: node lines:\n%s", w, strings.Join(lines[:6], "\n"))
		}
		mustContain(t, lines[4], "DOWN")
		if w >= 120 {
			mustContain(t, lines[4], "last answer 5m")
		}
		// The key on two nodes is critical on both rows.
		crit := 0
		for _, l := range lines {
			if strings.Contains(l, "!post0.key") {
				crit++
			}
		}
		if crit != 2 {
			t.Errorf("width %d: post0.key marked critical on %d rows, want 2:\n%s", w, crit, v)
		}
	}
}

func TestTheNodeColumnSortsOnZeroAndFilters(t *testing.T) {
	s := fleetDemo()
	m := newTest(t, 160, 30, &s)
	firstRow := func() string { return strings.Split(screen(m), "\n")[6] } // under 2+3 header lines and the titles
	press(m, "0")
	if first := firstRow(); !strings.Contains(first, "alpha") || !strings.Contains(screen(m), "NODE▲") {
		t.Fatalf("sorted by NODE, the first row is %q", first)
	}
	press(m, "0") // reversed
	if first := firstRow(); !strings.Contains(first, "beta") {
		t.Fatalf("sorted by NODE descending, the first row is %q", first)
	}
	press(m, "/", "b", "e", "t", "a", "enter")
	for _, l := range strings.Split(screen(m), "\n")[6:] {
		if strings.Contains(l, "alpha") {
			t.Fatalf("filter beta shows an alpha row: %q", l)
		}
	}
}

func TestOneNodeKeepsItsTable(t *testing.T) {
	s := demo()
	m := newTest(t, 200, 30, &s)
	v := screen(m)
	mustNotContain(t, v, "ON NODE", "nodes")
	if strings.Count(strings.Split(v, "\n")[2], "NODE") != 1 {
		t.Fatalf("column header: %q", strings.Split(v, "\n")[2])
	}
}

// The HEALTH cell shows a critical flag first, whatever came before it.
func TestTheHealthCellShowsTheCriticalFlag(t *testing.T) {
	if got := healthText([]model.Health{model.HealthWaiting, model.HealthMalicious}); got != "malicious +1" {
		t.Errorf("health cell %q, want the critical flag first", got)
	}
}
