package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"postdeck/model"
	"postdeck/themes"
)

// View renders the header, the body of the current screen and the footer,
// exactly filling the terminal.
func (m *Model) View() tea.View {
	var b strings.Builder
	b.Grow(m.width * m.height * 2)
	b.WriteString(m.headerView())
	b.WriteByte('\n')

	var body strings.Builder
	switch m.mode {
	case modeTable:
		m.tableBody(&body)
	case modeDetail:
		m.detailBody(&body)
	case modeHelp:
		m.helpBody(&body)
	}
	writeLines(&b, body.String(), m.bodyHeight())
	b.WriteString(m.footerView())

	v := tea.NewView(b.String())
	v.AltScreen = true
	v.WindowTitle = m.title
	if m.filter.active {
		if c := m.filter.input.Cursor(); c != nil {
			c.Y = m.height - 1
			v.Cursor = c
		}
	}
	return v
}

// writeLines writes exactly n lines of s, cutting or padding with blank lines,
// each line followed by a newline.
func writeLines(b *strings.Builder, s string, n int) {
	lines := 0
	for line := range strings.SplitSeq(s, "\n") {
		if lines == n {
			break
		}
		b.WriteString(line)
		b.WriteByte('\n')
		lines++
	}
	for ; lines < n; lines++ {
		b.WriteByte('\n')
	}
}

// tableBody is the table, or a line saying why it is empty.
func (m *Model) tableBody(b *strings.Builder) {
	t := &m.table
	st := &m.theme.Styles
	muted := st.Fg[themes.ToneMuted]
	switch {
	case m.snap == nil:
		b.WriteString(muted.Render(truncate("  waiting for the first poll…", m.width)))
	case len(t.rows) == 0:
		b.WriteString(muted.Render(truncate("  no identities: configure [[service]] entries or check the node", m.width)))
	case len(t.idx) == 0:
		t.view(b, st)
		b.WriteString("\n" + muted.Render(truncate(fmt.Sprintf("  no identities match filter %q (esc clears it)", t.filter.Expr), m.width)))
	default:
		t.view(b, st)
	}
}

// detailBody is a title line over the scrollable detail of one row.
func (m *Model) detailBody(b *strings.Builder) {
	st := &m.theme.Styles
	r := &m.detail.row
	title := fmt.Sprintf("%s  %s", orDash(printable(r.Label(), false)), shortID(r.ID, 16))
	b.WriteString(st.Section.Render(truncate(title, m.width)))
	b.WriteByte('\n')
	b.WriteString(m.detail.vp.View())
}

// helpBody is the full help from the keymap, plus what the markers mean.
func (m *Model) helpBody(b *strings.Builder) {
	st := &m.theme.Styles
	b.WriteString(st.Section.Render("Keys") + "\n\n")
	b.WriteString(m.fullHelp(m.keys.FullHelp()) + "\n\n")
	var cols []string
	for c := range model.NumColumns {
		cols = append(cols, fmt.Sprintf("%d %s", c+1, c.Title()))
	}
	b.WriteString(st.Section.Render("Sort keys") + "\n")
	b.WriteString(wrap(strings.Join(cols, "  "), m.width) + "\n\n")
	b.WriteString(st.Section.Render("Filter") + "\n")
	b.WriteString(wrap("A case-insensitive regular expression over name, id, states, service, dir and health flags; a leading ! keeps the rows that do not match. Rows filter as you type; enter keeps the filter, esc clears it.", m.width) + "\n\n")
	b.WriteString(st.Section.Render("Row markers") + "\n")
	b.WriteString(wrap("> cursor   ! critical: rewards lost or ban risk now   * warning: needs a look   (enter shows what each flag means)", m.width))
}

// fullHelp renders the help columns, wrapping whole columns onto more rows
// when they do not fit side by side.
func (m *Model) fullHelp(groups [][]key.Binding) string {
	h := m.help
	h.SetWidth(0) // we wrap columns ourselves instead of cutting them
	var rows []string
	var cur [][]key.Binding
	for _, g := range groups {
		next := append(slices.Clone(cur), g)
		if len(cur) > 0 && lipgloss.Width(h.FullHelpView(next)) > m.width {
			rows = append(rows, h.FullHelpView(cur))
			next = [][]key.Binding{g}
		}
		cur = next
	}
	if len(cur) > 0 {
		rows = append(rows, h.FullHelpView(cur))
	}
	return strings.Join(rows, "\n\n")
}

// footerView is the filter input while typing, else key hints on the left
// and the position, filter and sort on the right.
func (m *Model) footerView() string {
	st := &m.theme.Styles
	if m.filter.active {
		line := m.filter.input.View()
		if m.filter.err != "" {
			line += " " + st.Fg[themes.ToneDanger].Render("✗ "+m.filter.err)
		}
		return ansiTruncate(line, m.width)
	}
	var hints []key.Binding
	right := ""
	switch m.mode {
	case modeTable:
		hints = m.keys.ShortHelp()
		if m.table.filter.Expr != "" {
			hints = append([]key.Binding{m.keys.ClearFilter}, hints...)
		}
		right = m.tableStatus()
	case modeDetail:
		hints = []key.Binding{m.keys.Back, m.keys.Up, m.keys.Down}
		right = fmt.Sprintf("%3.0f%%", m.detail.vp.ScrollPercent()*100)
	case modeHelp:
		hints = []key.Binding{m.keys.Back, m.keys.ForceQuit}
	}
	rw := cellWidth(right)
	h := m.help
	h.SetWidth(max(0, m.width-rw-2))
	left := h.ShortHelpView(hints)
	gap := max(1, m.width-lipgloss.Width(left)-rw)
	return ansiTruncate(left+strings.Repeat(" ", gap)+st.Subtle.Render(right), m.width)
}

// tableStatus is the cursor position, the filter in force and the sort.
func (m *Model) tableStatus() string {
	t := &m.table
	var parts []string
	if t.filter.Expr != "" {
		parts = append(parts, "filter "+t.filter.Expr)
	}
	parts = append(parts, "sort "+t.sortCol.Title()+arrow(t.desc))
	pos := 0
	if len(t.idx) > 0 {
		pos = t.cursor + 1
	}
	parts = append(parts, fmt.Sprintf("%d/%d", pos, len(t.idx)))
	return strings.Join(parts, " · ")
}
