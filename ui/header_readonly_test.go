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
