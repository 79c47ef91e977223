package demo

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"postdeck/backend"
	"postdeck/cmd/cmdtest"
	"postdeck/model"
	"postdeck/themes"
	"postdeck/ui"
)

// The countdown a user sees in the header, at dates across a PoET cycle,
// by hand from mainnet's timing (SPACEMESH.md): epoch n starts genesis
// (2023-07-14 08:00Z) + 14·n days, its round ends 10 days later and the
// cycle gap closes 12 h after that.
//
// Epoch 89 starts 89·14 = 1246 days after genesis. 2023-07-14 → 2026-07-14
// is 366 + 365 + 365 = 1096 days; the other 150 are 17 (to July 31) + 31 +
// 30 + 31 + 30 (to Nov 30) + 11: 2026-12-11 08:00Z. Its round ends
// 2026-12-21 08:00Z, its gap closes 20:00Z. Epoch 90 starts 2026-12-25, its
// round ends 2027-01-04 08:00Z. Epoch 88's gap closed 2026-12-07 20:00Z.
//
// Epoch 205 starts 2870 days after genesis: 2023-07-14 → 2031-07-14 is
// 8·365 + 2 (2024, 2028) = 2922 days, less 52 is 2031-05-23 08:00Z. Its
// round ends 2031-06-02 08:00Z.
func TestHeaderCountdownAcrossACycle(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s int) time.Time {
		return time.Date(y, mo, d, h, mi, s, 0, time.UTC)
	}
	cases := []struct {
		name string
		now  time.Time
		want string
	}{
		{"between cycles, after epoch 88's gap", utc(2026, 12, 10, 6, 0, 0), "cycle gap in 11d2h"},
		{"hours before the gap", utc(2026, 12, 21, 2, 48, 0), "cycle gap in 5h12m"},
		{"just before the gap", utc(2026, 12, 21, 7, 59, 30), "cycle gap in <1m"},
		{"the gap opens", utc(2026, 12, 21, 8, 0, 0), "CYCLE GAP: closes in 12h00m"},
		{"in the gap (the date CI runs at)", utc(2026, 12, 21, 14, 0, 0), "CYCLE GAP: closes in 6h00m"},
		{"just before it closes", utc(2026, 12, 21, 19, 59, 30), "CYCLE GAP: closes in <1m"},
		{"it has closed: epoch 90's round next", utc(2026, 12, 21, 20, 0, 0), "cycle gap in 13d12h"},
		{"long after: 2031", utc(2031, 6, 1, 0, 0, 0), "cycle gap in 1d8h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			header := headerAt(c.now)
			if !strings.Contains(header, c.want) {
				t.Errorf("at %s the header is\n%s\nwant %q", c.now.Format(time.RFC3339), header, c.want)
			}
		})
	}
}

// headerAt is the dashboard's header at now, 200 columns wide, over a
// snapshot whose countdown the cycle watcher filled on the same clock.
func headerAt(now time.Time) string {
	clk := func() time.Time { return now }
	snap := model.Snapshot{At: now, Node: model.NodeView{HasStatus: true, Synced: true, Version: "v1.7.6"}}
	backend.NewCycleWatcher(model.MainnetTiming(), clk).Hook(&snap)
	m := ui.New(ui.Options{Theme: themes.Plain(), Interval: 2 * time.Second, Title: "postdeck", Now: clk})
	m.Update(tea.WindowSizeMsg{Width: 200, Height: 30})
	m.Update(ui.SnapshotMsg{Snapshot: snap})
	lines := strings.SplitN(ansi.Strip(m.View().Content), "\n", 3)
	return strings.Join(lines[:min(2, len(lines))], "\n")
}

// The demo told the date (POSTDECK_NOW): the simulated node, the countdown
// and the header's age all follow it. 2026-12-21 14:00Z is in epoch 89's gap
// (above); mainnet's layer then is 1256 days · 288 + 6 h · 12 = 361800, and
// the demo's node moves on a layer per 5 s.
func TestDemoAtAChosenDateInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 200, 30, fmt.Sprintf("env POSTDECK_NOW=2026-12-21T14:00:00Z XDG_STATE_HOME=%s %s demo --ids 4; sleep 60", t.TempDir(), cmdtest.Binary))
	s := tm.WaitFor("the header on the chosen date", cmdtest.Contains("CYCLE GAP: closes in", "post01.key"))
	header := strings.SplitN(s, "\n", 2)[0]
	if !regexp.MustCompile(`CYCLE GAP: closes in (6h00m|5h5\dm)`).MatchString(header) ||
		!regexp.MustCompile(`layer 3618\d\d `).MatchString(header) ||
		!regexp.MustCompile(`updated (just now|\ds ago)`).MatchString(header) {
		t.Errorf("header on 2026-12-21 14:00Z:\n%s", header)
	}
	tm.Keys("q")
}
