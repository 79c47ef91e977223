package ui

// Leaving the migration wizard: once something was changed, leaving first
// shows what was and was not done (the report `postdeck migrate` prints).

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

// openLeave asks before leaving, showing what was and was not done.
func (w *wizard) openLeave(m *Model) {
	w.leaving = true
	w.leaveBtns = newButtons(m.now(), btn{label: btnStay, on: true}, btn{label: btnLeave, on: true})
}

// leaveKey is a key while the leave question shows.
func (w *wizard) leaveKey(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	now := m.now()
	if k.String() == "esc" && !w.leaveBtns.inGrace(now) {
		w.leaving = false
		return nil, false
	}
	switch w.leaveBtns.key(k, &m.keys, now) {
	case btnStay:
		w.leaving = false
	case btnLeave:
		return w.leave(m), true
	}
	return nil, false
}

// leave keeps the report for `postdeck migrate` to print.
func (w *wizard) leave(m *Model) tea.Cmd {
	m.migrateReport = w.report(m)
	if !m.migrateOnly && len(w.done) > 0 {
		m.setStatus("migration wizard closed: "+firstLine(strings.TrimPrefix(m.migrateReport, "Migration wizard: ")), themes.ToneAccent)
	}
	return nil
}

// interrupt is ctrl+c: a running merge is not abandoned on the first, and
// once something was changed the user sees what before leaving.
func (w *wizard) interrupt(m *Model) (tea.Cmd, bool) {
	switch {
	case w.running && !m.quitArmed:
		m.quitArmed = true
		m.setStatus("a merge is running: wait for it to end (ctrl+c again quits anyway; the merge's journal lets `postdeck merge --recover` finish or undo it)", themes.ToneWarn)
		return nil, false
	case len(w.done) > 0 && !w.leaving:
		w.openLeave(m)
		return nil, false
	}
	w.leave(m)
	return nil, true
}

func (w *wizard) leavePage(m *Model, t *text, p page, width int) page {
	p.key += "-leave"
	t.add("Leave the migration wizard?", themes.ToneWarn, 1)
	t.blank()
	t.block(w.report(m), themes.ToneText, 1)
	p.body, p.fixed = t.out, w.leaveBtns.lines(width-2, &m.theme.Styles)
	p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "stay"))
	return p
}

// report says what the wizard did and what is left to do.
func (w *wizard) report(m *Model) string {
	var b strings.Builder
	if len(w.done) == 0 {
		b.WriteString("Migration wizard: nothing was changed.\n")
	} else {
		b.WriteString("Migration wizard: done:\n")
		for _, d := range w.done {
			fmt.Fprintf(&b, "  - %s\n", d)
		}
	}
	not := w.notDone()
	if len(not) > 0 {
		b.WriteString("Not done:\n")
		for _, n := range not {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	merged, confirmed := len(w.ids) > 0, true
	for _, id := range w.ids {
		confirmed = confirmed && id.confirmed
	}
	switch {
	case merged && confirmed:
		b.WriteString("Next: start a post-service per identity, and never start the old nodes with these keys again.\n")
	case merged:
		b.WriteString("Next: restart the node (it reads identities/ only when it starts), start a post-service per identity, and never start the old nodes with these keys again.\n")
	}
	return b.String()
}

// notDone lists what the wizard has not done (yet), in the report's order.
func (w *wizard) notDone() []string {
	var not []string
	if w.running && len(w.runs) > 0 {
		r := w.runs[len(w.runs)-1]
		not = append(not, fmt.Sprintf("the merge of %s was still running: run `postdeck merge --recover --to %s` before anything else (it finishes or undoes it)", r.from, r.to))
	}
	for i, s := range w.sources {
		if i >= len(w.runs) || w.runs[i].sum == nil {
			not = append(not, "not merged: "+s)
		}
	}
	for _, id := range w.ids {
		if !id.serviced {
			not = append(not, "no [[service]] added for "+id.key.Name)
		}
	}
	for _, id := range w.ids {
		if !id.confirmed {
			not = append(not, "the node has not been seen reporting "+id.key.Name+" yet")
		}
	}
	return not
}
