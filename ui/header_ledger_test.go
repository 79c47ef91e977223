package ui

import (
	"strings"
	"testing"

	"postdeck/model"
)

// headerAtWidth is the header's two lines for snap at w columns.
func headerAtWidth(t *testing.T, snap model.Snapshot, w int) []string {
	return strings.Split(screen(newTest(t, w, 30, &snap)), "\n")[:headerLines]
}

// While the backfill runs the header tells its progress; it is the first
// to leave a narrow line (every other fact there outlasts it), and it is
// gone once the backfill ends.
func TestHeaderShowsTheBackfillWhileItRuns(t *testing.T) {
	const progress = "history: 340/1000 identities"
	snap := demo()
	snap.At = testNow
	snap.Node = model.NodeView{HasStatus: true, Synced: true, Version: "v1.7.6", TopLayer: 260928, Peers: 20}
	snap.Ledger.Backfill = model.Backfill{Done: 340, Total: 1000, Running: true}
	wide := headerAtWidth(t, snap, 200)[0]
	if !strings.Contains(wide, progress) {
		t.Fatalf("at 200 columns: %q, want %q", wide, progress)
	}
	others := strings.Split(strings.Replace(wide, " · "+progress, "", 1), " · ")
	for w := 20; w < 200; w++ {
		line := headerAtWidth(t, snap, w)[0]
		if !strings.Contains(line, progress) {
			continue
		}
		for _, o := range others {
			if !strings.Contains(line, o) {
				t.Fatalf("at %d columns %q stays but %q left: %q", w, progress, o, line)
			}
		}
	}
	snap.Ledger.Backfill.Running = false
	if line := headerAtWidth(t, snap, 200)[0]; strings.Contains(line, "history:") {
		t.Errorf("after the backfill: %q", line)
	}
}

// The ledger's error shows where the node's errors do: in the header alone,
// or counted after the first; in full under the detail view's node sources.
func TestHeaderShowsTheLedgersError(t *testing.T) {
	locked := model.SourceError{Source: "ledger", Message: "ledger /s/ledger.db is held by another postdeck (pid 42) — close it or use its state folder"}
	snap := demo()
	snap.At = testNow
	snap.Node.Errors = []model.SourceError{locked}
	if line := headerAtWidth(t, snap, 200)[1]; !strings.Contains(line, "ledger: ledger /s/ledger.db is held by another postdeck (pid 42)") || strings.Contains(line, "close it") {
		t.Errorf("ledger error alone: %q", line)
	}
	snap.Node.Errors = []model.SourceError{{Source: "node public", Message: "connection refused"}, locked}
	if line := headerAtWidth(t, snap, 200)[1]; !strings.Contains(line, "node: connection refused (+1 more)") {
		t.Errorf("after a node error: %q", line)
	}
	m := newTest(t, 200, 80, &snap)
	press(m, "enter", "end")
	mustContain(t, screen(m), "Node sources", "ledger: "+locked.Message)
}
