package ui

// Leaving the migration wizard: once something was changed, leaving first
// asks, showing what was and was not done (the report `postdeck migrate`
// prints), in a layer over the wizard.

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/model"
	"postdeck/themes"
)

// leaveDialog is the question before leaving, a layer over the wizard:
// Stay closes it; Leave closes it and tells the wizard (through flowDo),
// which ends.
type leaveDialog struct {
	w   *wizard
	row buttonRow[wizAct]
}

// wizLeaveMsg is the leave question's Leave, for the wizard.
type wizLeaveMsg struct{}

// openLeave is the leave question, for the stack to push.
func (w *wizard) openLeave() *leaveDialog {
	w.leaving = true
	return &leaveDialog{w: w, row: newButtonRow(wizButton(btnStay, wizStay), wizButton(btnLeave, wizGo))}
}

func (d *leaveDialog) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply) {
	if key.Matches(k, m.keys.ForceQuit) {
		return m.flowKey(k) // the wizard's interrupt: it sees the question open
	}
	m.quitArmed = false
	if m.flowScrollKey(k) {
		return nil, reply{}
	}
	act, pressed := d.row.key(k, &m.keys)
	switch {
	case k.String() == "esc", pressed && act == wizStay:
		d.w.leaving = false
		return nil, reply{close: true}
	case pressed && act == wizGo:
		return m.flowDo(func() tea.Msg { return wizLeaveMsg{} }), reply{close: true}
	}
	return nil, reply{}
}

func (d *leaveDialog) paste(*Model, tea.PasteMsg) tea.Cmd   { return nil }
func (d *leaveDialog) snapshot(m *Model, s *model.Snapshot) { d.w.snapshot(m, s) }
func (d *leaveDialog) asking() question                     { return "leave" }
func (d *leaveDialog) opaque() bool                         { return true }
func (d *leaveDialog) hints(m *Model) []key.Binding         { return m.flowHints }
func (d *leaveDialog) draw(m *Model, _ string) (string, *tea.Cursor) {
	var b strings.Builder
	c := m.drawPage(&b, d.page(m, m.width))
	return b.String(), c
}

// page shows what was and was not done, in the wizard's frame.
func (d *leaveDialog) page(m *Model, width int) page {
	p, t := d.w.frame(m, width)
	p.key += "-leave"
	t.add("Leave the migration wizard?", themes.ToneWarn, 1)
	t.blank()
	t.block(d.w.report(m), themes.ToneText, 1)
	p.body, p.fixed = t.out, d.row.pageLines(width-2, &m.theme.Styles)
	p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "stay"))
	return p
}

// leave keeps the report for `postdeck migrate` to print.
func (w *wizard) leave(m *Model) tea.Cmd {
	m.migrateReport = w.report(m)
	if !m.migrateOnly && len(w.done) > 0 {
		m.setStatus("migration wizard closed: "+w.outcome(), themes.ToneAccent)
	}
	return nil
}

// interrupt is ctrl+c: a running merge is not abandoned on the first, and
// once something was changed the user sees what before leaving.
func (w *wizard) interrupt(m *Model) (tea.Cmd, reply) {
	switch {
	case w.running && !m.quitArmed:
		m.quitArmed = true
		m.setStatus("a merge is running: wait for it to end (ctrl+c again quits anyway; the merge's journal lets `postdeck merge --recover` finish or undo it)", themes.ToneWarn)
		return nil, reply{}
	case len(w.done) > 0 && !w.leaving:
		return nil, reply{push: w.openLeave()}
	}
	w.leave(m)
	return nil, reply{close: true}
}

// report says what the wizard did and what is left to do.
func (w *wizard) report(m *Model) string {
	var b strings.Builder
	b.WriteString("Migration wizard: " + w.outcome() + "\n")
	for _, d := range w.done {
		fmt.Fprintf(&b, "  - %s\n", d)
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

// outcome heads the report (and the status line once the wizard is left).
func (w *wizard) outcome() string {
	if len(w.done) == 0 {
		return "nothing was changed."
	}
	return "done:"
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
