package ui

import (
	"strings"
	"testing"
	"time"

	"postdeck/model"
)

// eventSnap is demo() with events: post0 completed a proof 3 minutes ago,
// post1's failed, and one event is about an identity not in the table.
func eventSnap() model.Snapshot {
	s := demo()
	at := func(ago time.Duration) time.Time { return testNow.Add(-ago) }
	for i := range s.Rows {
		r := &s.Rows[i]
		switch r.Name {
		case "post0.key":
			r.Events = []model.Event{
				{Time: at(10 * time.Minute), Kind: "post_start", Smesher: r.ID},
				{Time: at(3 * time.Minute), Kind: "post_complete", Smesher: r.ID},
			}
			r.Timing = model.ProofTiming{Rate: 200 << 20, ETA: 90 * time.Second, LastK2Pow: 4 * time.Minute, LastDisk: 20 * time.Minute}
		case "post1.key":
			r.Events = []model.Event{
				{Time: at(time.Minute), Kind: "post_complete", Failure: true, Help: "Node failed PoST execution.", Smesher: r.ID},
			}
		}
	}
	for i := range s.Rows {
		s.Events = append(s.Events, s.Rows[i].Events...)
	}
	s.Events = append(s.Events, model.Event{Time: at(30 * time.Second), Kind: "atx_published",
		Smesher: idOf("stranger.key"), Detail: "current 12 target 13"})
	return s
}

func TestEventColumn(t *testing.T) {
	snap := eventSnap()
	m := newTest(t, 200, 20, &snap)
	v := screen(m)
	mustContain(t, v, "EVENT", "post_complete ✓ 3m", "post_complete ✗ 1m")
	for line := range strings.SplitSeq(v, "\n") {
		if strings.Contains(line, "post1.key") && strings.Contains(line, "✓") {
			t.Errorf("a failed post_complete shows as a success: %q", line)
		}
	}
	// On a narrow screen the EVENT column is the first to go.
	m.Update(sizeMsg(100, 20))
	v = screen(m)
	mustNotContain(t, v, "EVENT", "post_complete")
	mustContain(t, v, "post0.key", "HEALTH")
	for line := range strings.SplitSeq(v, "\n") {
		if w := cellWidth(line); w > 100 {
			t.Errorf("line of %d cells: %q", w, line)
		}
	}
	// No events: no column.
	plain := demo()
	m = newTest(t, 200, 20, &plain)
	mustNotContain(t, screen(m), "EVENT")
}

func TestDetailShowsTimelineAndTiming(t *testing.T) {
	snap := eventSnap()
	m := newTest(t, 120, 60, &snap)
	press(m, "enter") // post0.key is first
	v := screen(m)
	mustContain(t, v, "Read rate", "200 MiB/s", "ETA", "1m30s", "Last proof", "k2pow 4m0s, disk 20m0s", "Events (2)")
	if i, j := strings.Index(v, "post_complete ✓"), strings.Index(v, "post_start"); i < 0 || j < 0 || i > j {
		t.Errorf("timeline not newest first:\n%s", v)
	}
	press(m, "esc", "down", "enter")
	v = screen(m)
	mustContain(t, v, "post_complete ✗", "Node failed PoST execution.")
}

func TestEventPanel(t *testing.T) {
	snap := eventSnap()
	m := newTest(t, 120, 12, &snap)
	press(m, "e")
	if m.mode != modeEvents {
		t.Fatal("e did not open the event panel")
	}
	v := screen(m)
	mustContain(t, v, "Node events (4, newest first)", "atx_published", "(not in the table)", "current 12 target 13",
		"post_complete ✗  post1.key", "post0.key")
	if i, j := strings.Index(v, "atx_published"), strings.Index(v, "post_start"); i < 0 || j < 0 || i > j {
		t.Errorf("panel not newest first:\n%s", v)
	}
	// Scrolling moves the list; the bottom keeps a page on screen.
	snap.Events = nil
	for i := range 50 {
		snap.Events = append(snap.Events, model.Event{Time: testNow.Add(time.Duration(i) * time.Second), Kind: "proposal",
			Detail: "layer " + string(rune('A'+i%26))})
	}
	m.Update(SnapshotMsg{snap})
	press(m, "G")
	v = screen(m)
	mustContain(t, v, "layer A") // the oldest
	press(m, "g")
	mustNotContain(t, screen(m), "layer A\n")
	press(m, "esc")
	if m.mode != modeTable {
		t.Fatal("esc did not go back to the table")
	}
	// e is not a dangerous action: a view-only dashboard keeps it.
	k := DefaultKeyMap()
	k.DisableDanger()
	if !k.Events.Enabled() {
		t.Error("DisableDanger turned the event panel off")
	}
	press(m, "?")
	mustContain(t, screen(m), "node events")
}
