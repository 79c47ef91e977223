package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

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
	switch {
	case m.overlays.covered(): // a flow fills the body
	case m.mode == modeTable:
		m.tableBody(&body)
	case m.mode == modeDetail:
		m.detailBody(&body)
	case m.mode == modeHelp:
		m.helpBody(&body)
	case m.mode == modeLogs:
		m.logsBody(&body)
	case m.mode == modeEvents:
		m.eventsBody(&body)
	}
	text, cursor := body.String(), (*tea.Cursor)(nil)
	if m.overlays.open() {
		text, cursor = m.overlays.draw(m, text)
	}
	if cursor != nil {
		cursor.Y += m.headerHeight()
	}
	writeLines(&b, text, m.bodyHeight())
	b.WriteString(m.footerView())

	v := tea.NewView(b.String())
	v.AltScreen = true
	v.WindowTitle = m.title
	var input *textinput.Model
	switch {
	case m.filter.active:
		input = &m.filter.input
	case m.mode == modeLogs && m.logs.searching:
		input = &m.logs.input
	}
	if input != nil {
		if c := input.Cursor(); c != nil {
			c.Y = m.height - 1
			cursor = c
		}
	}
	v.Cursor = cursor
	return v
}

// overlayLine draws fg (w cells wide) over bg from column x, keeping what
// shows on both sides.
func overlayLine(bg, fg string, x, w int) string {
	left := ansi.Truncate(bg, x, "")
	right := ansi.TruncateLeft(bg, x+w, "")
	var b strings.Builder
	b.WriteString(left)
	if strings.Contains(left, "\x1b") {
		b.WriteString(ansi.ResetStyle)
	}
	b.WriteString(strings.Repeat(" ", max(0, x-ansi.StringWidth(left))))
	b.WriteString(fg)
	b.WriteString(right)
	return b.String()
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
		m.sourceErrors(b)
	case len(t.idx) == 0:
		t.view(b, &m.ink, m.selected, m.now())
		b.WriteString("\n" + muted.Render(truncate(fmt.Sprintf("  no identities match filter %q (esc clears it)", t.filter.Expr), m.width)))
	default:
		t.view(b, &m.ink, m.selected, m.now())
	}
}

// sourceErrors lists the node's and the key folder's errors in full: with no
// rows there is no detail view to read them in.
func (m *Model) sourceErrors(b *strings.Builder) {
	warn := m.theme.Styles.Fg[themes.ToneWarn]
	errs := m.snap.Node.Errors
	if m.snap.KeysErr != "" {
		errs = append(slices.Clone(errs), model.SourceError{Source: "keys", Message: m.snap.KeysErr})
	}
	for _, e := range errs {
		text := wrap(printable(e.Source+": "+e.Message, false), m.width-4)
		for line := range strings.SplitSeq(text, "\n") {
			b.WriteString("\n    " + warn.Render(line))
		}
	}
}

// detailBody is a title line over the scrollable detail of one row.
func (m *Model) detailBody(b *strings.Builder) {
	st := &m.theme.Styles
	r := &m.detail.row
	title := fmt.Sprintf("%s  %s", orDash(printable(r.Label(), false)), model.ShortID(r.ID, 16))
	b.WriteString(st.Section.Render(truncate(title, m.width)))
	b.WriteByte('\n')
	b.WriteString(m.detail.vp.View())
}

// helpBody is the window of the help text that fits the body, from
// helpTop: the help scrolls (helpKey), so every section can be reached
// at any size.
func (m *Model) helpBody(b *strings.Builder) {
	lines := m.helpLines()
	top := clamp(m.helpTop, 0, max(0, len(lines)-m.bodyHeight()))
	end := min(len(lines), top+m.bodyHeight())
	for i, line := range lines[top:end] {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ansiTruncate(line, m.width))
	}
}

// helpLines is the help text as screen lines, wrapped to the width.
func (m *Model) helpLines() []string { return strings.Split(m.helpText(), "\n") }

// helpKey scrolls the help or closes it.
func (m *Model) helpKey(k tea.KeyPressMsg) {
	last := max(0, len(m.helpLines())-m.bodyHeight())
	top := clamp(m.helpTop, 0, last)
	switch {
	case key.Matches(k, m.keys.Help, m.keys.Back):
		m.mode = modeTable
	case key.Matches(k, m.keys.Up):
		top--
	case key.Matches(k, m.keys.Down):
		top++
	case key.Matches(k, m.keys.PageUp):
		top -= m.bodyHeight() - 1
	case key.Matches(k, m.keys.PageDown), k.String() == "space":
		top += m.bodyHeight() - 1
	case key.Matches(k, m.keys.Top):
		top = 0
	case key.Matches(k, m.keys.Bottom):
		top = last
	}
	m.helpTop = clamp(top, 0, last)
}

// helpStatus is the footer's right side in the help: which lines show, and
// that there is more (so a cut screen never reads as the end).
func (m *Model) helpStatus() string {
	n := len(m.helpLines())
	h := m.bodyHeight()
	if n <= h {
		return ""
	}
	top := clamp(m.helpTop, 0, n-h)
	more := "↓ more"
	switch {
	case top+h >= n:
		more = "↑ end"
	case top > 0:
		more = "↑↓ more"
	}
	return fmt.Sprintf("%d-%d/%d %s", top+1, top+h, n, more)
}

// helpText is the full help from the keymap, plus what the markers mean.
func (m *Model) helpText() string {
	var b strings.Builder
	st := &m.theme.Styles
	b.WriteString(st.Section.Render("Keys") + st.Fg[themes.ToneMuted].Render("  (this help scrolls: ↑/↓ j/k, pgup/pgdn, g/G; esc leaves)") + "\n\n")
	b.WriteString(m.fullHelp(m.keys.FullHelp()) + "\n\n")
	if off := m.keys.offHelp(); len(off) > 0 {
		// Keys only, one group per reason: the help lists what works, and
		// names the rest so a dead key is not a surprise; pressed, each says
		// why in the footer.
		var whys []string
		byWhy := map[string][]string{}
		for _, r := range off {
			if byWhy[r.why] == nil {
				whys = append(whys, r.why)
			}
			byWhy[r.why] = append(byWhy[r.why], r.help.Key)
		}
		groups := make([]string, len(whys))
		for i, why := range whys {
			groups[i] = strings.Join(byWhy[why], " ") + " (" + why + ")"
		}
		b.WriteString(st.Section.Render("Off in this session") + "\n")
		b.WriteString(wrap(strings.Join(groups, "; ")+"; pressed, each says why.", m.width) + "\n\n")
	}
	var cols []string
	for c := range model.NumColumns {
		if c == model.ColFleet && !m.fleet() {
			continue
		}
		title := c.Title()
		if m.fleet() {
			title = c.FleetTitle()
		}
		cols = append(cols, c.SortKey()+" "+title)
	}
	b.WriteString(st.Section.Render("Sort keys") + "\n")
	b.WriteString(wrap(strings.Join(cols, "  "), m.width) + "\n\n")
	b.WriteString(st.Section.Render("Filter") + "\n")
	b.WriteString(wrap("A case-insensitive regular expression over name, id, states, service, dir, health flags and the last epoch; a leading ! keeps the rows that do not match. Rows filter as you type; enter keeps the filter, esc clears it.", m.width) + "\n\n")
	b.WriteString(st.Section.Render("Last epoch") + "\n")
	b.WriteString(wrap("LAST EPOCH is the newest complete publish epoch in the epoch ledger: ✓ and the rewards its ATX earned in the epoch after (SMH), ✗ and the first step that failed (no PoET registration, PoST proof failed, …), ? when postdeck was not running then and the node kept nothing. enter shows the epoch timeline and what to do; postdeck history prints it for every identity.", m.width) + "\n\n")
	b.WriteString(st.Section.Render("Process columns") + "\n")
	b.WriteString(wrap("On wide screens: PID (ext: started outside postdeck), UP (how long it has run), EXIT (how it last exited), RST (how many times it exited without being asked to: a crash or a kill from outside; starts and stops by postdeck, automatic proving's included, are not counted). A few RST on a healthy row are past crashes; one that keeps rising is a crash loop (l shows the log).", m.width) + "\n\n")
	b.WriteString(st.Section.Render("Row markers") + "\n")
	b.WriteString(wrap("> cursor   ! critical: rewards lost or ban risk now   * warning: needs a look   (enter shows what each flag means)", m.width))
	if m.actions != nil {
		b.WriteString("\n" + wrap("+ selected for the next action   » the cursor on a selected row   ⏸ after the state: a stop is pending and runs by itself once stopping is safe", m.width))
		b.WriteString("\n\n" + st.Section.Render("Automatic proving and the plan") + "\n")
		b.WriteString(wrap("a starts a stopped service when the node wants its proof, at most max_proving_per_disk per disk and max_proving in all, in the plan's order: "+
			model.PlanRule+". The header's plan says whether every proof of the coming cycle gap finishes in it; postdeck plan shows each proof's start, finish and why one will miss. The header says how many services wait for a slot; a waiting row's details (enter) say why.", m.width))
		b.WriteString("\n\n" + st.Section.Render("Stopping safely") + "\n")
		b.WriteString(wrap("Stopping a service that is proving throws its work away, and one whose proof the node has not fetched yet throws the proof away. x asks first and shows why a stop is not safe: Stop works only when it is safe (checked again at that moment), Stop when safe queues it, Force stop asks you to type the identity's name. Actions apply to the selected rows (space, A; esc clears), else to the cursor row.", m.width))
		if m.keys.AddKey.Enabled() {
			b.WriteString("\n\n" + st.Section.Render("Keys, merging, migration") + "\n")
			b.WriteString(wrap("i adds a PoST directory's identity.key to the node, m merges an old node's data folder into this one, M walks the guide's migration steps. Each shows what will happen and asks before changing anything; folder entries complete with tab. The node must be restarted to load new keys: postdeck says when it reports them.", m.width))
		}
	}
	return b.String()
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
	if m.mode == modeLogs && m.logs.searching {
		return ansiTruncate(m.logs.input.View(), m.width)
	}
	if m.overlays.covered() {
		if text, tone, ok := m.statusLine(); ok {
			return m.ink.fg[tone].paint(truncate(text, m.width))
		}
		return m.shortHelp(m.overlays.top().hints(m), m.width)
	}
	right := ""
	switch m.mode {
	case modeTable:
		right = m.tableStatus()
	case modeDetail:
		right = fmt.Sprintf("%3.0f%%", m.detail.vp.ScrollPercent()*100)
	case modeLogs:
		right = m.logsStatus()
	case modeHelp:
		right = m.helpStatus()
	}
	if text, tone, ok := m.statusLine(); ok && !m.overlays.open() {
		// A result or progress replaces the key hints; it may take the
		// whole line, the position comes back when it is gone.
		text = truncate(text, m.width)
		tw := cellWidth(text)
		if tw+2+cellWidth(right) > m.width {
			return m.ink.fg[tone].paint(text)
		}
		return m.ink.fg[tone].paint(text) + strings.Repeat(" ", m.width-tw-cellWidth(right)) + m.ink.subtle.paint(right)
	}
	rw := cellWidth(right)
	left, lw := m.hints(max(0, m.width-rw-2))
	gap := max(1, m.width-lw-rw)
	line := left + strings.Repeat(" ", gap) + m.ink.subtle.paint(right)
	if lw+gap+rw <= m.width {
		return line
	}
	return ansiTruncate(line, m.width)
}

// hintKey is what the footer's key hints depend on.
type hintKey struct {
	mode     mode
	filtered bool
	width    int
}

// hintCache keeps the rendered key hints: they change only with the mode,
// the filter being set and the width, not on every frame.
type hintCache struct {
	key   hintKey
	text  string
	width int
	ok    bool
}

// hints renders the key hints for the current screen within width cells,
// and says how wide they came out.
func (m *Model) hints(width int) (string, int) {
	if top := m.overlays.top(); top != nil { // not cached: only the table's hints are hot
		text := m.shortHelp(top.hints(m), width)
		return text, lipgloss.Width(text)
	}
	k := hintKey{m.mode, m.table.filter.Expr != "", width}
	if m.hintCache.ok && m.hintCache.key == k {
		return m.hintCache.text, m.hintCache.width
	}
	var bindings []key.Binding
	switch {
	case m.mode == modeLogs:
		bindings = m.keys.logsHelp()
	case m.mode == modeTable:
		bindings = m.keys.ShortHelp()
		if k.filtered {
			bindings = append([]key.Binding{m.keys.ClearFilter}, bindings...)
		}
	case m.mode == modeDetail:
		bindings = []key.Binding{m.keys.Back, m.keys.Up, m.keys.Down}
	case m.mode == modeHelp:
		bindings = m.keys.helpHelp()
	case m.mode == modeEvents:
		bindings = m.keys.eventsHelp()
	}
	text := m.shortHelp(bindings, width)
	m.hintCache = hintCache{key: k, text: text, width: lipgloss.Width(text), ok: true}
	return m.hintCache.text, m.hintCache.width
}

// shortHelp renders the enabled bindings that fit in width, marking a cut
// with "…". (help's own truncation adds items that do not fit when the
// ellipsis does not fit either.)
func (m *Model) shortHelp(bindings []key.Binding, width int) string {
	h := m.help
	h.SetWidth(0)
	on := make([]key.Binding, 0, len(bindings))
	for _, b := range bindings {
		if b.Enabled() {
			on = append(on, b)
		}
	}
	text := h.ShortHelpView(on)
	if lipgloss.Width(text) <= width {
		return text
	}
	for k := len(on) - 1; k > 0; k-- {
		text = h.ShortHelpView(on[:k])
		if lipgloss.Width(text)+2 <= width {
			return text + " " + m.theme.Styles.HelpSep.Render("…")
		}
	}
	return ""
}

// tableStatus is the cursor position, the filter in force and the sort.
func (m *Model) tableStatus() string {
	t := &m.table
	var parts []string
	if n := len(m.selected); n > 0 {
		parts = append(parts, fmt.Sprintf("%d selected", n))
	}
	if t.filter.Expr != "" {
		parts = append(parts, "filter "+t.filter.Expr)
	}
	parts = append(parts, "sort "+column{col: t.sortCol, fleet: t.natural[model.ColFleet] > 0}.title()+arrow(t.desc))
	pos := 0
	if len(t.idx) > 0 {
		pos = t.cursor + 1
	}
	parts = append(parts, fmt.Sprintf("%d/%d", pos, len(t.idx)))
	return strings.Join(parts, " · ")
}
