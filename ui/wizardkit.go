package ui

// The flows: the three full-screen tasks (the add-key form, the merge and
// the migration wizard). Here are the flow interface the Model routes keys,
// results and snapshots to, and pages with a scrolling body and fixed inputs
// and buttons. What their pages are made of is beside it: text
// (wizard_text.go), forms (wizard_form.go) and button rows
// (wizard_buttons.go).

import (
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/model"
)

// flow is a task that fills the body until it ends. The Model hands it every
// key, the results of the Cmds it started (matched to it by id, so a reply
// to a closed flow is dropped) and every snapshot.
type flow interface {
	// key handles a key; its reply closes the flow (back to the table) or
	// puts a layer over it (the wizard's leave question).
	key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply)
	// result handles the result of one of the flow's Cmds; done ends the
	// flow (the wizard, once its leave question was answered Leave).
	result(m *Model, msg tea.Msg) (cmd tea.Cmd, done bool)
	// snapshot sees each new snapshot while the flow is open.
	snapshot(m *Model, s *model.Snapshot)
	// paste feeds pasted text to the focused input.
	paste(m *Model, p tea.PasteMsg) tea.Cmd
	// page draws the flow for a width.
	page(m *Model, width int) page
	// asking is what the flow asks now (see overlay.asking): the stack
	// applies the grace, the flow never does.
	asking() question
	// interrupt is ctrl+c: a reply that closes quits; else the flow stays
	// and shows why (a merge running), or pushes the layer that asks
	// (what was and was not done yet).
	interrupt(m *Model) (tea.Cmd, reply)
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

// flowKey routes a key to the open flow; pgup/pgdn scroll its body. The
// reply is the flow's, for its layer (flowLayer) to pass on.
func (m *Model) flowKey(k tea.KeyPressMsg) (tea.Cmd, reply) {
	if key.Matches(k, m.keys.ForceQuit) {
		cmd, r := m.flow.interrupt(m)
		if r.close {
			return tea.Quit, reply{}
		}
		return cmd, r
	}
	m.quitArmed = false // ctrl+c twice in a row quits past a running merge
	if m.flowScrollKey(k) {
		return nil, reply{}
	}
	cmd, r := m.flow.key(m, k)
	if r.close { // the stack takes the flow's layer off
		return m.endFlow(cmd), r
	}
	return cmd, r
}

// flowScrollKey scrolls the open page for pgup/pgdn; false for other keys.
func (m *Model) flowScrollKey(k tea.KeyPressMsg) bool {
	switch {
	case key.Matches(k, m.keys.PageUp):
		m.flowScroll = max(0, m.flowScroll-max(1, m.bodyHeight()/2))
		m.flowFollow = false
	case key.Matches(k, m.keys.PageDown):
		m.flowScroll += max(1, m.bodyHeight()/2) // clamped when drawn
	default:
		return false
	}
	return true
}

// endFlow closes the flow that ended; `postdeck migrate` quits with it.
func (m *Model) endFlow(cmd tea.Cmd) tea.Cmd {
	m.closeFlow()
	if m.migrateOnly {
		return tea.Quit
	}
	return cmd
}

// flowResult hands a Cmd's result to the flow that started it.
func (m *Model) flowResult(msg flowMsg) tea.Cmd {
	if m.flow == nil || msg.id != m.flowSeq {
		return nil
	}
	cmd, done := m.flow.result(m, msg.msg)
	if done { // no key closes the layer: take it off here
		m.overlays.remove(flowLayer{m.flow})
		return m.endFlow(cmd)
	}
	return cmd
}

// flowBody draws the open flow into the body and returns where the
// terminal cursor goes (relative to the body's first line), nil for none.
func (m *Model) flowBody(b *strings.Builder) *tea.Cursor {
	return m.drawPage(b, m.flow.page(m, m.width))
}

// drawPage draws a flow's page (or a layer's over it) into the body.
func (m *Model) drawPage(b *strings.Builder, p page) *tea.Cursor {
	st := &m.theme.Styles
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

// nodeAddrs are the configured node's listeners to dial (the merge form
// probes them).
func nodeAddrs(cfg *config.Config) []string { return config.NodeAddrs(cfg) }

// nodeAddrsOf is the listeners of the node whose data folder is folder.
func nodeAddrsOf(cfg *config.Config, folder string) []string { return config.NodeAddrsOf(cfg, folder) }

// needConfig is the status a flow key gives without a config.
const needConfig = "needs a config file (the node's data folder and listeners): run `postdeck init`, or start postdeck with --config FILE"

// flowHelp is the footer for a page: its own bindings.
func flowHelp(bs ...key.Binding) []key.Binding { return bs }

// hint makes a footer binding from a key and a description.
func hint(k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(k), key.WithHelp(k, desc))
}
