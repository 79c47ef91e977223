package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/model"
	"postdeck/themes"
)

// A read-only session's header starts with READ-ONLY at every width from a
// phone's to a wide monitor's, whatever else wants the line: the longest
// cycle-gap countdown, the node not synced, a long title, node errors. And
// no header line is wider than the screen.
func TestReadOnlyMarkerIsPinnedAtEveryWidth(t *testing.T) {
	gapOpen := testNow.Add(-time.Hour) // "CYCLE GAP: closes in 11h00m (?)", the longest countdown
	snap := demo()
	snap.At = testNow
	snap.Node = model.NodeView{HasStatus: true, Version: "v1.7.6-with-a-long-build-suffix", TopLayer: 260928, Peers: 120,
		Errors: []model.SourceError{{Source: "node public", Message: "connection refused — is the node running?"}}}
	snap.Cycle = model.CycleInfo{Known: true, RoundEnd: gapOpen, GapCloses: gapOpen.Add(12 * time.Hour), Mismatch: "differs"}
	for _, ro := range []bool{true, false} {
		for w := 20; w <= 200; w++ { // 20: the narrowest the dashboard draws
			m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, ReadOnly: ro,
				Title: "postdeck — /home/smesher/.config/postdeck/a-rather-long-config-name.toml",
				Now:   func() time.Time { return testNow.Add(time.Second) }})
			m.Update(tea.WindowSizeMsg{Width: w, Height: 30})
			m.Update(SnapshotMsg{snap})
			lines := strings.Split(screen(m), "\n")
			if got := strings.HasPrefix(lines[0], readOnlyMarker); got != ro {
				t.Fatalf("read-only %v at %d columns: the first line is %q", ro, w, lines[0])
			}
			for i, l := range lines[:headerLines] {
				if cellWidth(l) > w {
					t.Fatalf("at %d columns header line %d is %d wide: %q", w, i+1, cellWidth(l), l)
				}
			}
			if ro && w >= 80 && !strings.Contains(lines[0], "CYCLE GAP") {
				t.Errorf("at %d columns the gap countdown is gone beside the marker: %q", w, lines[0])
			}
		}
	}
}

// The marker stays across a whole PoET cycle: before the gap, in it and long
// after (the countdown's width changes with the date).
func TestReadOnlyMarkerAcrossACycle(t *testing.T) {
	roundEnd := time.Date(2026, 12, 21, 8, 0, 0, 0, time.UTC)
	c := model.CycleInfo{Known: true, RoundEnd: roundEnd, GapCloses: roundEnd.Add(12 * time.Hour)}
	for _, now := range []time.Time{roundEnd.Add(-11 * 24 * time.Hour), roundEnd.Add(-time.Minute), roundEnd,
		roundEnd.Add(6 * time.Hour), roundEnd.Add(12 * time.Hour), roundEnd.AddDate(5, 0, 0)} {
		for _, w := range []int{80, 100, 120, 160, 200} {
			snap := demo()
			snap.At, snap.Cycle = now, c
			m := New(Options{Theme: themes.Plain(), Interval: 2 * time.Second, ReadOnly: true, Title: "postdeck",
				Now: func() time.Time { return now }})
			m.Update(tea.WindowSizeMsg{Width: w, Height: 30})
			m.Update(SnapshotMsg{snap})
			if first, _, _ := strings.Cut(screen(m), "\n"); !strings.HasPrefix(first, readOnlyMarker) {
				t.Errorf("%s at %d columns: %q", fmt.Sprint(now.Format(time.RFC3339)), w, first)
			}
		}
	}
}

// waitReason is the scheduler's longest kind of reason: a disk busy with
// two services.
const waitReason = "disk node3-disk3 is busy with data30, data31 (max_proving_per_disk = 1)"

// At 80, 120 and 200 columns the header keeps what a user must see: the
// read-only marker, that it is a demo, the critical and warning counts,
// automatic proving's state and how many services it holds back. The
// waiting reason is shown whole or not at all, never cut, and no header
// line is wider than the screen.
func TestHeaderKeepsWhatMattersAtEveryWidth(t *testing.T) {
	gapOpen := testNow.Add(-time.Hour)
	snap := everyKind()
	snap.Cycle = model.CycleInfo{Known: true, RoundEnd: gapOpen, GapCloses: gapOpen.Add(12 * time.Hour), Mismatch: "differs"}
	snap.Plan = &model.Plan{Fits: 1, Misses: 3, Proofs: make([]model.PlannedProof, 4)}
	snap.Ledger.Backfill = model.Backfill{Running: true, Done: 3, Total: 12}
	snap.Scheduler = model.SchedulerStatus{Auto: true,
		Actions: []model.Action{{Kind: model.ActionStart, Service: "data29"}, {Kind: model.ActionStop, Service: "data02"}},
		Waits:   []model.Wait{{Service: "data32", Reason: waitReason}, {Service: "data33", Reason: waitReason}}}
	c := snap.Count()
	for _, ro := range []bool{true, false} {
		for _, w := range []int{80, 120, 200} {
			m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, ReadOnly: ro, Actions: actionsUnless(ro),
				Demo: true, Title: "postdeck — demo (simulated node in /tmp/postdeck-sim-1234567890)", Now: func() time.Time { return testNow.Add(time.Second) }})
			m.Update(tea.WindowSizeMsg{Width: w, Height: 30})
			m.Update(SnapshotMsg{snap})
			lines := strings.Split(screen(m), "\n")
			first, second := lines[0], lines[1]
			if ro && !strings.HasPrefix(first, readOnlyMarker+" ") {
				t.Errorf("read-only at %d: %q", w, first)
			}
			if !strings.Contains(first, "postdeck — demo") {
				t.Errorf("read-only %v at %d: the first line does not say demo: %q", ro, w, first)
			}
			for _, want := range []string{fmt.Sprintf("%d critical", c.Critical), fmt.Sprintf("%d warnings", c.Warned), "auto on", "2 waiting"} {
				if !strings.Contains(second, want) {
					t.Errorf("read-only %v at %d: the second line lacks %q: %q", ro, w, want, second)
				}
			}
			if strings.Contains(second, "waits:") && !strings.Contains(second, "data32 waits: "+waitReason) {
				t.Errorf("read-only %v at %d: the reason is cut: %q", ro, w, second)
			}
			if w >= 200 && !strings.Contains(second, "data32 waits: "+waitReason) {
				t.Errorf("at %d the reason has room and is not shown: %q", w, second)
			}
			for i, l := range lines[:headerLines] {
				if cellWidth(l) > w || strings.Contains(l, "…") {
					t.Errorf("read-only %v at %d: header line %d is %d wide or cut: %q", ro, w, i+1, cellWidth(l), l)
				}
			}
		}
	}
}

// actionsUnless is a fake controller, or none for a read-only session.
func actionsUnless(readOnly bool) Actions {
	if readOnly {
		return nil
	}
	return &fakeActions{}
}
