package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/model"
	"postdeck/themes"
)

// handleKey routes a key to the filter input, the open screen or the table.
func (m *Model) handleKey(k tea.KeyPressMsg) tea.Cmd {
	if m.overlays.open() {
		return m.overlayKey(k)
	}
	if key.Matches(k, m.keys.ForceQuit) {
		return tea.Quit
	}
	if m.filter.active {
		return m.filterKey(k)
	}
	switch m.mode {
	case modeLogs:
		return m.logsKey(k)
	case modeEvents:
		return m.eventsKey(k)
	case modeHelp:
		m.helpKey(k)
		return nil
	case modeDetail:
		switch {
		case key.Matches(k, m.keys.Back):
			m.mode = modeTable
			return nil
		case key.Matches(k, m.keys.Top):
			m.detail.vp.GotoTop()
			return nil
		case key.Matches(k, m.keys.Bottom):
			m.detail.vp.GotoBottom()
			return nil
		}
		var cmd tea.Cmd
		m.detail.vp, cmd = m.detail.vp.Update(k)
		return cmd
	}
	return m.tableKey(k)
}

// overlayKey gives a key to the overlay stack and runs the operation a
// dialog answered with.
func (m *Model) overlayKey(k tea.KeyPressMsg) tea.Cmd {
	cmd, op := m.overlays.key(m, k)
	if op == nil {
		return cmd
	}
	return tea.Batch(cmd, m.runOp(op.kind, op.mode, op.services, op.skipped))
}

// tableKey handles a key on the table. Moving the cursor costs O(1): the
// index is left alone and only the visible window is drawn.
func (m *Model) tableKey(k tea.KeyPressMsg) tea.Cmd {
	t := &m.table
	switch {
	case key.Matches(k, m.keys.Quit):
		return tea.Quit
	case key.Matches(k, m.keys.Help):
		m.mode, m.helpTop = modeHelp, 0
	case key.Matches(k, m.keys.AddKey):
		return m.showFlow(m.openKeyForm())
	case key.Matches(k, m.keys.Merge):
		return m.showFlow(m.openMergeForm())
	case key.Matches(k, m.keys.Migrate):
		return m.showFlow(m.openWizard())
	case key.Matches(k, m.keys.Up):
		t.move(-1)
	case key.Matches(k, m.keys.Down):
		t.move(1)
	case key.Matches(k, m.keys.PageUp):
		t.move(-t.height)
	case key.Matches(k, m.keys.PageDown):
		t.move(t.height)
	case key.Matches(k, m.keys.Top):
		t.move(-len(t.idx))
	case key.Matches(k, m.keys.Bottom):
		t.move(len(t.idx))
	case key.Matches(k, m.keys.Sort):
		if c, ok := sortColumn(k.String()); ok {
			t.sortBy(c)
		}
	case key.Matches(k, m.keys.Filter):
		return m.openFilter()
	case key.Matches(k, m.keys.ClearSelect) && len(m.selected) > 0:
		clear(m.selected)
	case key.Matches(k, m.keys.ClearFilter):
		m.clearFilter()
	case key.Matches(k, m.keys.Select):
		m.toggleSelect()
	case key.Matches(k, m.keys.SelectAll):
		m.selectAll()
	case key.Matches(k, m.keys.Start):
		return m.startKey()
	case key.Matches(k, m.keys.Stop):
		return m.stopKey()
	case key.Matches(k, m.keys.Restart):
		return m.restartKey()
	case key.Matches(k, m.keys.Logs):
		return m.openLogs()
	case key.Matches(k, m.keys.Auto):
		return m.toggleAuto()
	case key.Matches(k, m.keys.Reload):
		return m.reloadCmd()
	case key.Matches(k, m.keys.Events):
		m.openEvents()
	case key.Matches(k, m.keys.Detail):
		if r := t.selected(); r != nil {
			m.mode = modeDetail
			m.detail.open(r, m.width, m.bodyHeight()-1, m)
		}
	default:
		m.sayRefused(k)
	}
	return nil
}

// sayRefused tells, in the footer, why a key this session turned off does
// nothing: a dead key that says nothing reads as a bug.
func (m *Model) sayRefused(k tea.KeyPressMsg) {
	if r, ok := m.keys.refused(k.String()); ok {
		m.setStatus(r.help.Key+" "+strings.TrimSuffix(r.help.Desc, "…")+": "+r.why, themes.ToneWarn)
	}
}

// sortColumn maps the keys "1"… and "0" to their columns (Column.SortKey).
func sortColumn(s string) (model.Column, bool) {
	for c := range model.NumColumns {
		if c.SortKey() == s {
			return c, true
		}
	}
	return 0, false
}
