package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/model"
	"postdeck/themes"
)

// modeEvents is the node-wide event panel (key e).
const modeEvents mode = 100

const (
	eventTitle    = "EVENT"
	maxEventWidth = 26 // "waiting_for_poet_round_end" and more are cut
	eventAgeWidth = 3  // "59m", "23h", "9d"
	timelineShown = 20
)

// eventMark is ✗ for a failure and ✓ for a post_complete that succeeded:
// not every post_complete is a success.
func eventMark(e *model.Event) string {
	switch {
	case e.Failure:
		return "✗"
	case e.Kind == "post_complete":
		return "✓"
	}
	return ""
}

// eventText is the EVENT cell: the last event's kind, its mark and its age.
func eventText(r *model.Row, now time.Time) string {
	e := r.LastEvent()
	if e == nil {
		return ""
	}
	s := printable(e.Kind, false)
	if m := eventMark(e); m != "" {
		s += " " + m
	}
	if !e.Time.IsZero() && !now.Before(e.Time) {
		s += " " + eventAge(now.Sub(e.Time))
	}
	return s
}

// eventAge is a coarse age that fits in three cells.
func eventAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// eventWidth is the EVENT column's natural width for these rows, 0 when no
// row has an event (the column stays away).
func eventWidth(rows []model.Row) int {
	w := 0
	for i := range rows {
		e := rows[i].LastEvent()
		if e == nil {
			continue
		}
		n := cellWidth(printable(e.Kind, false)) + 1 + eventAgeWidth
		if eventMark(e) != "" {
			n += 2
		}
		w = max(w, len(eventTitle), n)
	}
	return min(w, maxEventWidth)
}

// layoutWithEvents lays the table out with the EVENT column last when
// everything else fits at its natural width, process columns included: it is
// the first column to leave a narrow screen. It returns the columns and the
// EVENT width (0 = not shown).
func layoutWithEvents(natural [model.NumColumns]int, proc [numProcCols]int, ev, width int) ([]column, int) {
	if ev > 0 {
		need := gutter + naturalTotal(natural)
		if proc[procPID] > 0 {
			for p := procPID; p < numProcCols; p++ {
				need += proc[p] + 1
			}
		}
		if need+1+ev <= width {
			return layoutTable(natural, proc, width-ev-1), ev
		}
	}
	return layoutTable(natural, proc, width), 0
}

// eventHeader and eventCell add the EVENT column to a header or row line.
func (t *table) eventHeader(b *strings.Builder) {
	if t.evW > 0 {
		b.WriteByte(' ')
		b.WriteString(fit(eventTitle, t.evW))
	}
}

func (t *table) eventCell(b *strings.Builder, r *model.Row, now time.Time) {
	if t.evW > 0 {
		b.WriteByte(' ')
		b.WriteString(fit(eventText(r, now), t.evW))
	}
}

// timingLines are the detail view's throughput fields.
func timingLines(r *model.Row, field func(label, value string)) {
	tm := &r.Timing
	if tm.Rate == 0 && tm.LastK2Pow == 0 && tm.LastDisk == 0 && r.ServiceState != model.ServiceProving {
		return
	}
	rate, eta := "-", "-"
	if tm.Rate > 0 {
		rate = humanBytes(uint64(tm.Rate)) + "/s"
	}
	if tm.ETA > 0 {
		eta = tm.ETA.String() + " to the end of the pass"
	}
	field("Read rate", rate)
	field("ETA", eta)
	last := "-"
	if tm.LastK2Pow > 0 || tm.LastDisk > 0 {
		last = fmt.Sprintf("k2pow %s, disk %s", tm.LastK2Pow.Round(time.Second), tm.LastDisk.Round(time.Second))
	}
	field("Last proof", last)
}

// timelineDetail writes the row's events, newest first, failures in danger.
func timelineDetail(b *strings.Builder, r *model.Row, width int, th *themes.Theme, now time.Time) {
	st := &th.Styles
	b.WriteString("\n" + st.Section.Render(fmt.Sprintf("Events (%d)", len(r.Events))) + "\n")
	if len(r.Events) == 0 {
		b.WriteString("  none from the node yet\n")
		return
	}
	for i, n := len(r.Events)-1, 0; i >= 0 && n < timelineShown; i, n = i-1, n+1 {
		e := &r.Events[i]
		line := "  " + eventLine(e, "", now)
		tone := themes.ToneText
		if e.Failure {
			tone = themes.ToneDanger
		}
		b.WriteString(st.Fg[tone].Render(truncate(line, width)) + "\n")
	}
}

// eventLine is one event in a list: time, kind and mark, who, detail.
func eventLine(e *model.Event, who string, now time.Time) string {
	var b strings.Builder
	if e.Time.IsZero() {
		b.WriteString("--:--:--")
	} else if now.Sub(e.Time) < 20*time.Hour && !now.Before(e.Time.Add(-time.Minute)) {
		b.WriteString(e.Time.Local().Format("15:04:05"))
	} else {
		b.WriteString(e.Time.Local().Format("01-02 15:04"))
	}
	b.WriteByte(' ')
	kind := printable(e.Kind, false)
	if m := eventMark(e); m != "" {
		kind += " " + m
	}
	b.WriteString(kind)
	if who != "" {
		b.WriteString("  " + who)
	}
	if e.Detail != "" {
		b.WriteString("  " + printable(e.Detail, false))
	}
	if e.Failure && e.Help != "" {
		b.WriteString("  — " + printable(e.Help, false))
	}
	return b.String()
}

// eventPanel is the node-wide event list: newest first, scrollable.
type eventPanel struct {
	offset int
}

func (m *Model) openEvents() {
	m.mode = modeEvents
	m.table.evPanel.offset = 0
}

// eventCols is the width the EVENT column takes with its separator.
func eventCols(w int) int {
	if w == 0 {
		return 0
	}
	return w + 1
}

func (m *Model) snapEvents() []model.Event {
	if m.snap == nil {
		return nil
	}
	return m.snap.Events
}

func (m *Model) eventsKey(k tea.KeyPressMsg) tea.Cmd {
	n := len(m.snapEvents())
	page := max(1, m.bodyHeight()-1)
	p := &m.table.evPanel
	switch {
	case key.Matches(k, m.keys.Back), key.Matches(k, m.keys.Events):
		m.mode = modeTable
	case key.Matches(k, m.keys.Up):
		p.offset--
	case key.Matches(k, m.keys.Down):
		p.offset++
	case key.Matches(k, m.keys.PageUp):
		p.offset -= page
	case key.Matches(k, m.keys.PageDown):
		p.offset += page
	case key.Matches(k, m.keys.Top):
		p.offset = 0
	case key.Matches(k, m.keys.Bottom):
		p.offset = n
	}
	p.offset = clamp(p.offset, 0, n-page)
	return nil
}

// eventsBody is a title line over the node-wide events, newest first, each
// naming its identity by the row label when the table has it.
func (m *Model) eventsBody(b *strings.Builder) {
	st := &m.theme.Styles
	evs := m.snapEvents()
	b.WriteString(st.Section.Render(truncate(fmt.Sprintf("Node events (%d, newest first)", len(evs)), m.width)))
	if len(evs) == 0 {
		b.WriteString("\n  no events from the node yet")
		return
	}
	names := map[string]string{}
	for i := range m.snap.Rows {
		if r := &m.snap.Rows[i]; len(r.ID) > 0 {
			names[string(r.ID)] = printable(r.Label(), false)
		}
	}
	page := max(1, m.bodyHeight()-1)
	off := clamp(m.table.evPanel.offset, 0, len(evs)-page)
	now := m.now()
	for n := 0; n < page && off+n < len(evs); n++ {
		e := &evs[len(evs)-1-off-n]
		who := ""
		if len(e.Smesher) > 0 {
			if who = names[string(e.Smesher)]; who == "" {
				who = model.ShortID(e.Smesher, idWidth) + " (not in the table)"
			}
		}
		tone := themes.ToneText
		if e.Failure {
			tone = themes.ToneDanger
		}
		b.WriteByte('\n')
		b.WriteString(m.ink.fg[tone].paint(truncate(eventLine(e, who, now), m.width)))
	}
}

// eventsHelp is the footer's hint line on the event panel.
func (k KeyMap) eventsHelp() []key.Binding {
	return []key.Binding{k.Back, k.Up, k.Down, k.PageDown}
}
