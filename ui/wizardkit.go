package ui

// The shared parts of the three full-screen tasks (the add-key form, the
// merge and the migration wizard): the flow interface the Model routes keys,
// results and snapshots to, pages with a scrolling body and fixed inputs and
// buttons, a small form of text fields, and a row of buttons.

import (
	"net"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"postdeck/backend"
	"postdeck/model"
	"postdeck/themes"
)

// flow is a task that fills the body until it ends. The Model hands it every
// key, the results of the Cmds it started (matched to it by id, so a reply
// to a closed flow is dropped) and every snapshot.
type flow interface {
	// key handles a key; done ends the flow (back to the table).
	key(m *Model, k tea.KeyPressMsg) (cmd tea.Cmd, done bool)
	// result handles the result of one of the flow's Cmds.
	result(m *Model, msg tea.Msg) tea.Cmd
	// snapshot sees each new snapshot while the flow is open.
	snapshot(m *Model, s *model.Snapshot)
	// paste feeds pasted text to the focused input.
	paste(m *Model, p tea.PasteMsg) tea.Cmd
	// page draws the flow for a width.
	page(m *Model, width int) page
	// interrupt is ctrl+c: it returns done=false to stay (the flow shows
	// why: a merge running, or what was and was not done yet).
	interrupt(m *Model) (cmd tea.Cmd, done bool)
}

// flowMsg is the result of a flow's Cmd, tagged with the flow that asked.
type flowMsg struct {
	id  int
	msg tea.Msg
}

// page is one screen of a flow: a title, a body that scrolls (pgup/pgdn)
// and fixed lines (inputs, buttons) that always show at the bottom.
type page struct {
	key   string // changes when the screen changes: the scroll goes back to the top
	title string
	body  []string
	fixed []string
	// cursorLine is the line of fixed holding the focused input (-1: none)
	// and cursorX the cell where its cursor is.
	cursorLine, cursorX int
	hints               []key.Binding
	// follow keeps the end of the body in view as it grows (progress),
	// until the user scrolls up.
	follow bool
}

// openFlow shows f over the table.
func (m *Model) openFlow(f flow) {
	m.flowSeq++
	m.flow, m.flowScroll, m.flowPageKey = f, 0, ""
	m.status = status{}
}

// closeFlow goes back to the table.
func (m *Model) closeFlow() {
	m.flow = nil
	m.flowSeq++ // late results of the closed flow are dropped
}

// flowDo runs fn in a Cmd and delivers its result to the current flow.
func (m *Model) flowDo(fn func() tea.Msg) tea.Cmd {
	id := m.flowSeq
	return func() tea.Msg { return flowMsg{id: id, msg: fn()} }
}

// flowCmd delivers the message of cmd (a completion) to the current flow;
// nil stays nil. Not for Cmds that may return a batch.
func (m *Model) flowCmd(cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return m.flowDo(func() tea.Msg { return cmd() })
}

// flowAfter delivers msg to the current flow after d.
func (m *Model) flowAfter(d time.Duration, msg tea.Msg) tea.Cmd {
	id := m.flowSeq
	return tea.Tick(d, func(time.Time) tea.Msg { return flowMsg{id: id, msg: msg} })
}

// flowKey routes a key to the open flow; pgup/pgdn scroll its body.
func (m *Model) flowKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.ForceQuit) {
		cmd, done := m.flow.interrupt(m)
		if done {
			return tea.Quit
		}
		return cmd
	}
	m.quitArmed = false // ctrl+c twice in a row quits past a running merge
	switch {
	case key.Matches(k, m.keys.PageUp):
		m.flowScroll = max(0, m.flowScroll-max(1, m.bodyHeight()/2))
		m.flowFollow = false
		return nil
	case key.Matches(k, m.keys.PageDown):
		m.flowScroll += max(1, m.bodyHeight()/2) // clamped when drawn
		return nil
	}
	cmd, done := m.flow.key(m, k)
	if done {
		m.closeFlow()
		if m.migrateOnly {
			return tea.Quit
		}
	}
	return cmd
}

// flowResult hands a Cmd's result to the flow that started it.
func (m *Model) flowResult(msg flowMsg) tea.Cmd {
	if m.flow == nil || msg.id != m.flowSeq {
		return nil
	}
	return m.flow.result(m, msg.msg)
}

// flowBody draws the open flow into the body and returns where the
// terminal cursor goes (relative to the body's first line), nil for none.
func (m *Model) flowBody(b *strings.Builder) *tea.Cursor {
	st := &m.theme.Styles
	p := m.flow.page(m, m.width)
	m.flowHints = p.hints
	if p.key != m.flowPageKey {
		m.flowPageKey, m.flowScroll, m.flowFollow = p.key, 0, true
	}
	h := m.bodyHeight()
	fixed := p.fixed
	if len(fixed) > h-2 {
		fixed = fixed[len(fixed)-max(0, h-2):]
		p.cursorLine -= len(p.fixed) - len(fixed)
	}
	area := max(1, h-1-len(fixed))
	maxScroll := max(0, len(p.body)-area)
	if p.follow && m.flowFollow {
		m.flowScroll = maxScroll
	}
	m.flowScroll = clamp(m.flowScroll, 0, maxScroll)
	if m.flowScroll == maxScroll {
		m.flowFollow = true // back at the end: follow again
	}
	title := p.title
	if maxScroll > 0 {
		last := min(len(p.body), m.flowScroll+area)
		title += st.Subtle.Render(truncate(
			"  ·  lines "+strconv.Itoa(m.flowScroll+1)+"–"+strconv.Itoa(last)+" of "+strconv.Itoa(len(p.body))+" (pgup/pgdn)", max(0, m.width-cellWidth(p.title))))
	}
	b.WriteString(ansiTruncate(title, m.width))
	shown := 0
	for _, l := range p.body[m.flowScroll:min(len(p.body), m.flowScroll+area)] {
		b.WriteString("\n" + ansiTruncate(l, m.width))
		shown++
	}
	// A short body has the inputs and buttons right under it (after a
	// blank line); a long one pins them to the bottom.
	if shown < area {
		b.WriteByte('\n')
		shown++
	}
	var cursor *tea.Cursor
	for i, l := range fixed {
		b.WriteString("\n" + ansiTruncate(l, m.width))
		if i == p.cursorLine {
			cursor = tea.NewCursor(min(p.cursorX, m.width-1), 1+shown+i)
		}
	}
	return cursor
}

// text builds a page's lines: wrapped to a width, escaped, in a tone.
type text struct {
	w   int
	st  *themes.Styles
	out []string
}

func newText(width int, th *themes.Theme) *text {
	return &text{w: max(10, width-2), st: &th.Styles}
}

// add writes s (escaped, wrapped) in a tone, each line indented by ind.
func (t *text) add(s string, tone themes.Tone, ind int) {
	pad := strings.Repeat(" ", ind)
	for l := range strings.SplitSeq(wrap(printable(s, true), t.w-ind), "\n") {
		t.out = append(t.out, pad+t.st.Fg[tone].Render(l))
	}
}

// item is a marked line: "  ✓ text" whose wrapped lines hang under the text.
func (t *text) item(mark, s string, tone themes.Tone) {
	lines := strings.Split(wrap(printable(s, true), t.w-4), "\n")
	for i, l := range lines {
		lead := "  " + mark + " "
		if i > 0 {
			lead = "    "
		}
		t.out = append(t.out, t.st.Fg[tone].Render(lead+l))
	}
}

// sub is a detail under an item: "      - text", wrapped lines hanging.
func (t *text) sub(s string, tone themes.Tone) {
	for i, l := range strings.Split(wrap(printable(s, true), t.w-8), "\n") {
		lead := "      - "
		if i > 0 {
			lead = "        "
		}
		t.out = append(t.out, t.st.Fg[tone].Render(lead+l))
	}
}

func (t *text) section(s string) {
	t.out = append(t.out, t.st.Section.Render(truncate(printable(s, false), t.w)))
}

func (t *text) blank() { t.out = append(t.out, "") }

// block adds multi-line text (a plan, a snippet) line by line in a tone;
// a line too long for the width wraps, hanging under its start.
func (t *text) block(s string, tone themes.Tone, ind int) {
	pad := strings.Repeat(" ", ind)
	for l := range strings.SplitSeq(strings.TrimRight(printable(s, true), "\n"), "\n") {
		rest := strings.TrimLeft(l, " ")
		lead := l[:len(l)-len(rest)]
		hang := lead + "   " // wrapped lines hang under the text
		for i, w := range strings.Split(wrap(rest, t.w-ind-len(hang)), "\n") {
			if i == 0 {
				w = lead + w
			} else {
				w = hang + w
			}
			t.out = append(t.out, pad+t.st.Fg[tone].Render(w))
		}
	}
}

// check is one line of a checklist: ✓ in the OK tone, ✗ in the danger tone,
// readable without colour.
func (t *text) check(ok bool, s string) {
	if ok {
		t.item("✓", s, themes.ToneOK)
	} else {
		t.item("✗", s, themes.ToneDanger)
	}
}

// btn is one button of a row.
type btn struct {
	label string
	on    bool
	why   string // why it is off, shown beside it
}

// buttons is a row of buttons with one focused. Like the stop dialog, a row
// that guards a change starts on its first button (Cancel, Skip) and
// ignores keys for dialogGrace after it appears.
type buttons struct {
	list   []btn
	focus  int
	opened time.Time
}

func newButtons(now time.Time, list ...btn) buttons {
	return buttons{list: list, opened: now}
}

// set replaces the buttons, keeping the focus on the same label while it
// stays on, else on the first.
func (b *buttons) set(list ...btn) {
	cur := b.focused()
	b.list, b.focus = list, 0
	for i, x := range list {
		if x.label == cur && x.on {
			b.focus = i
		}
	}
}

// inGrace reports whether keys are still being swallowed.
func (b *buttons) inGrace(now time.Time) bool { return now.Sub(b.opened) < dialogGrace }

func (b *buttons) focused() string {
	if b.focus < len(b.list) {
		return b.list[b.focus].label
	}
	return ""
}

// move moves the focus to the next button that is on, wrapping.
func (b *buttons) move(dir int) {
	n := len(b.list)
	for i, f := 0, b.focus; i < n; i++ {
		f = (f + dir + n) % n
		if b.list[f].on {
			b.focus = f
			return
		}
	}
}

// key handles tab/shift+tab/arrows and enter; it returns the label pressed
// ("" for none). Keys in the grace period are dropped.
func (b *buttons) key(k tea.KeyPressMsg, keys *KeyMap, now time.Time) string {
	if b.inGrace(now) {
		return ""
	}
	switch {
	case key.Matches(k, keys.NextButton):
		b.move(1)
	case key.Matches(k, keys.PrevButton):
		b.move(-1)
	case key.Matches(k, keys.Press):
		if b.focus < len(b.list) && b.list[b.focus].on {
			return b.list[b.focus].label
		}
	}
	return ""
}

// lines lays the buttons out like the stop dialog's: "> X <" focused,
// "[ X (why) ]" off.
func (b *buttons) lines(width int, st *themes.Styles) []string {
	lines := layoutButtons(len(b.list), b.focus, width, st, func(i int) (string, string, bool) {
		return b.list[i].label, b.list[i].why, b.list[i].on
	})
	lines[len(lines)-1] = "  " + lines[len(lines)-1]
	return lines
}

// layoutButtons lays n buttons out left to right, wrapping when they do not
// fit. Readable without colour: the focused one is "> X <", a disabled one
// "[ X (why) ]". get returns button i's label, why it is off, and whether on.
func layoutButtons(n, focus, width int, st *themes.Styles, get func(i int) (label, why string, on bool)) []string {
	var lines []string
	var cur strings.Builder
	curW := 0
	for i := range n {
		label, why, on := get(i)
		s, style := "[ "+label+" ]", st.Button
		switch {
		case !on:
			s, style = "[ "+label+" ("+why+") ]", st.ButtonDisabled
		case i == focus:
			s, style = "> "+label+" <", st.ButtonFocused
		}
		w := cellWidth(s)
		if curW > 0 && curW+2+w > width {
			lines = append(lines, cur.String())
			cur.Reset()
			curW = 0
		}
		if curW > 0 {
			cur.WriteString("  ")
			curW += 2
		}
		cur.WriteString(style.Render(truncate(s, width)))
		curW += w
	}
	return append(lines, cur.String())
}

// newInput is a one-line text input with the filter's look: a real
// terminal cursor (the virtual one uses reverse video, which the colourless
// theme must not emit).
func newInput(th *themes.Theme, value string) textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	ti.SetVirtualCursor(false)
	st := &th.Styles
	state := textinput.StyleState{Prompt: st.Prompt, Placeholder: st.Fg[themes.ToneMuted], Suggestion: st.Fg[themes.ToneMuted]}
	ti.SetStyles(textinput.Styles{
		Focused: state,
		Blurred: state,
		Cursor:  textinput.CursorStyle{Color: th.Palette.Accent, Shape: tea.CursorBar, Blink: true},
	})
	ti.CharLimit = 4096
	ti.SetValue(value)
	ti.CursorEnd()
	return ti
}

// field is one line of a form: a text entry (with folder completion when
// path is set) or a yes/no toggle.
type field struct {
	label  string
	hint   string // shown muted after a toggle (text fields have placeholders)
	path   bool
	toggle bool
	on     bool
	in     pathInput
}

// form is a column of fields with one focused: ↑/↓ (or shift+tab) move,
// tab completes a folder (or moves on), space flips a toggle.
type form struct {
	fields []field
	focus  int
}

func (f *form) cur() *field { return &f.fields[f.focus] }

// focusOn moves the focus to field i.
func (f *form) focusOn(i int) tea.Cmd {
	f.fields[f.focus].in.blur()
	f.focus = clamp(i, 0, len(f.fields)-1)
	if f.fields[f.focus].toggle {
		return nil
	}
	return f.fields[f.focus].in.focus()
}

// key handles a key that edits or moves; enter and esc are the caller's.
// A tab's completion runs in the Cmd wrapped by toFlow and comes back to
// the flow as a completeMsg: pass it to apply.
func (f *form) key(k tea.KeyPressMsg, toFlow func(tea.Cmd) tea.Cmd) tea.Cmd {
	c := f.cur()
	switch k.String() {
	case "up", "shift+tab":
		return f.focusOn(f.focus - 1)
	case "down":
		return f.focusOn(f.focus + 1)
	case "tab":
		if c.path && !c.toggle {
			return toFlow(c.in.complete())
		}
		return f.focusOn(f.focus + 1)
	case "space":
		if c.toggle {
			c.on = !c.on
			return nil
		}
	}
	if c.toggle {
		return nil
	}
	return c.in.update(k)
}

// apply hands a completion to the field that asked for it.
func (f *form) apply(r completeMsg) {
	for i := range f.fields {
		f.fields[i].in.apply(r)
	}
}

func (f *form) paste(p tea.PasteMsg) tea.Cmd {
	if c := f.cur(); !c.toggle {
		return c.in.update(p)
	}
	return nil
}

// lines draws the form; cursorLine is the focused input's line.
func (f *form) lines(width int, th *themes.Theme) (out []string, cursorLine, cursorX int) {
	st := &th.Styles
	cursorLine = -1
	lw := 0
	for _, x := range f.fields {
		lw = max(lw, cellWidth(x.label))
	}
	for i, x := range f.fields {
		mark := "  "
		if i == f.focus {
			mark = "> "
		}
		lead := mark + x.label + strings.Repeat(" ", lw-cellWidth(x.label)) + "  "
		if x.toggle {
			box := "[ ]"
			if x.on {
				box = "[x]"
			}
			line := st.Label.Render(lead) + box
			if x.hint != "" {
				line += " " + st.Fg[themes.ToneMuted].Render(x.hint)
			}
			out = append(out, ansiTruncate(line, width))
			continue
		}
		x.in.input.SetWidth(max(10, width-cellWidth(lead)-2))
		line := st.Label.Render(lead) + x.in.input.View()
		if i == f.focus {
			cursorLine = len(out)
			if c := x.in.input.Cursor(); c != nil {
				cursorX = cellWidth(lead) + c.X
			}
		}
		out = append(out, ansiTruncate(line, width))
		if i == f.focus {
			for _, l := range x.in.notes(width - cellWidth(lead)) {
				out = append(out, strings.Repeat(" ", cellWidth(lead))+st.Fg[themes.ToneMuted].Render(l))
			}
		}
	}
	return out, cursorLine, cursorX
}

// nodeAddrs are the configured node's listeners to dial: one that answers
// means the node runs.
func nodeAddrs(cfg *backend.Config) []string {
	if cfg == nil {
		return nil
	}
	var out []string
	for _, l := range []string{cfg.Node.PostListener, cfg.Node.PrivateListener, cfg.Node.PublicListener} {
		if l == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(l); err == nil {
			out = append(out, backend.DialAddress(l))
		}
	}
	return out
}

// needConfig is the status a flow key gives without a config.
const needConfig = "needs a config file (the node's data folder and listeners): run `postdeck init`, or start postdeck with --config FILE"

// flowHelp is the footer for a page: its own bindings.
func flowHelp(bs ...key.Binding) []key.Binding { return bs }

// hint makes a footer binding from a key and a description.
func hint(k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(k), key.WithHelp(k, desc))
}
