package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"postdeck/model"
	"postdeck/themes"
)

// dialogGrace is how long a new dialog ignores keys, so a key typed for the
// table just before it appeared cannot answer it.
const dialogGrace = 400 * time.Millisecond

// dialogKind is what the dialog asks about.
type dialogKind int

const (
	dialogStop dialogKind = iota
	dialogRestart
)

// choice is what a button does.
type choice int

const (
	choiceCancel        choice = iota
	choiceStop                 // stop the safe rows now (re-checked at stop time)
	choiceWhenSafe             // queue the stop of every row not already pending
	choiceCancelPending        // drop the pending stops
	choiceForce                // stop all regardless, after a typed confirmation
	choiceRestart              // restart the safe rows now
	choiceForceRestart         // stop all regardless and start, after a typed confirmation
)

// stopDialog asks how to stop (or restart) one or more services, showing the
// safe-stop verdict of each, recomputed on every snapshot while it is open.
type stopDialog struct {
	kind    dialogKind
	keys    []string    // the rows asked about
	rows    []model.Row // their latest copies
	gone    []bool      // not in the latest snapshot
	verdict []model.Verdict
	skipped []string // targets without a service, for the result line

	buttons buttonRow[choice]

	// While confirming a forced stop: the typed word, and what it does.
	confirming bool
	confirm    confirmInput
	then       choice
}

// openDialog puts a new dialog over the table; Cancel has the focus.
func (m *Model) openDialog(kind dialogKind, rows []*model.Row, skipped []string) {
	d := &stopDialog{kind: kind, skipped: skipped}
	for _, r := range rows {
		d.keys = append(d.keys, r.Key)
		d.rows = append(d.rows, *r)
	}
	d.gone = make([]bool, len(rows))
	d.recheck()
	m.overlays.push(d, m.now())
}

// stopDialog is the open stop dialog, nil when none.
func (m *Model) stopDialog() *stopDialog {
	for _, l := range m.overlays.layers {
		if d, ok := l.o.(*stopDialog); ok {
			return d
		}
	}
	return nil
}

// refresh follows a new snapshot: the verdicts are computed again, so a
// proof being fetched turns Stop on while the dialog is open. O(rows), on a
// snapshot only.
func (d *stopDialog) refresh(rows []model.Row) {
	pos := make(map[string]int, len(d.keys))
	for i, k := range d.keys {
		pos[k] = i
		d.gone[i] = true
	}
	for i := range rows {
		if j, ok := pos[rows[i].Key]; ok {
			d.rows[j], d.gone[j] = rows[i], false
		}
	}
	d.recheck()
}

// recheck recomputes the verdicts and the buttons, keeping the focus on the
// same choice while it stays enabled, else moving it back to Cancel.
func (d *stopDialog) recheck() {
	d.verdict = make([]model.Verdict, len(d.rows))
	for i := range d.rows {
		d.verdict[i] = model.StopVerdict(&d.rows[i])
	}
	d.buttons.set(d.makeButtons()...)
}

// counts: how many rows are safe to stop now, and how many have a stop pending.
func (d *stopDialog) counts() (safe, pending int) {
	for i := range d.rows {
		if d.verdict[i].Safe {
			safe++
		}
		if d.rows[i].PendingStop {
			pending++
		}
	}
	return safe, pending
}

func (d *stopDialog) makeButtons() []button[choice] {
	safe, pending := d.counts()
	one := len(d.rows) == 1
	bs := []button[choice]{{label: "Cancel", act: choiceCancel, on: true}}
	if d.kind == dialogRestart {
		if one {
			bs = append(bs, button[choice]{label: "Restart", act: choiceRestart, on: safe == 1, why: "not safe"},
				button[choice]{label: "Force restart", act: choiceForceRestart, on: true})
		} else {
			bs = append(bs, button[choice]{label: "Restart safe ones now", act: choiceRestart, on: safe > 0, why: "none safe"},
				button[choice]{label: "Force restart all", act: choiceForceRestart, on: true})
		}
		return bs
	}
	switch {
	case one && pending == 1:
		bs = append(bs, button[choice]{label: "Cancel pending stop", act: choiceCancelPending, on: true},
			button[choice]{label: "Force stop", act: choiceForce, on: true})
	case one:
		bs = append(bs, button[choice]{label: "Stop", act: choiceStop, on: safe == 1, why: "not safe"},
			button[choice]{label: "Stop when safe", act: choiceWhenSafe, on: true},
			button[choice]{label: "Force stop", act: choiceForce, on: true})
	default:
		bs = append(bs, button[choice]{label: "Stop safe ones now", act: choiceStop, on: safe > 0, why: "none safe"},
			button[choice]{label: "Stop all when safe", act: choiceWhenSafe, on: pending < len(d.rows), why: "all pending"})
		if pending > 0 {
			bs = append(bs, button[choice]{label: "Cancel pending stops", act: choiceCancelPending, on: true})
		}
		bs = append(bs, button[choice]{label: "Force stop all", act: choiceForce, on: true})
	}
	return bs
}

// key handles a key; the stack dropped those of the grace period.
func (d *stopDialog) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply) {
	keys := &m.keys
	switch {
	case key.Matches(k, keys.ForceQuit):
		return tea.Quit, reply{}
	case d.confirming:
		return d.confirmKey(k, keys)
	case key.Matches(k, keys.Dismiss):
		return nil, reply{close: true}
	}
	c, pressed := d.buttons.key(k, keys)
	switch {
	case !pressed:
		return nil, reply{}
	case c == choiceCancel:
		return nil, reply{close: true}
	case c == choiceForce || c == choiceForceRestart:
		return d.startConfirm(m, c), reply{}
	}
	return nil, d.result(c)
}

// result closes the dialog with the operation a choice asks for.
func (d *stopDialog) result(c choice) reply {
	pick := func(ok func(i int) bool) []string {
		var out []string
		for i := range d.rows {
			if ok(i) {
				out = append(out, d.rows[i].Service)
			}
		}
		return out
	}
	all := func(int) bool { return true }
	safe := func(i int) bool { return d.verdict[i].Safe }
	r := opRequest{kind: opStop, skipped: d.skipped}
	switch c {
	case choiceStop:
		r.mode, r.services = model.StopIfSafe, pick(safe)
	case choiceWhenSafe:
		r.mode, r.services = model.StopWhenSafe, pick(func(i int) bool { return !d.rows[i].PendingStop })
	case choiceCancelPending:
		r.mode, r.services = model.StopCancel, pick(func(i int) bool { return d.rows[i].PendingStop })
	case choiceForce:
		r.mode, r.services = model.StopForce, pick(all)
	case choiceRestart:
		r.kind, r.services = opRestart, pick(safe)
	case choiceForceRestart:
		r.kind, r.services = opForceRestart, pick(all)
	}
	if len(r.services) == 0 {
		return reply{close: true}
	}
	return reply{close: true, op: &r}
}

// startConfirm asks to type the identity's name (or "force" for several)
// before a forced stop.
func (d *stopDialog) startConfirm(m *Model, c choice) tea.Cmd {
	want := "force"
	if len(d.rows) == 1 {
		want = d.rows[0].Label()
	}
	var cmd tea.Cmd
	d.confirming, d.then = true, c
	d.confirm, cmd = newConfirm(&m.theme, want)
	d.confirm.unchanged = "nothing was stopped"
	return cmd
}

// confirmKey handles a key while the name is typed: enter checks it, esc
// goes back to the buttons.
func (d *stopDialog) confirmKey(k tea.KeyPressMsg, keys *KeyMap) (tea.Cmd, reply) {
	if key.Matches(k, keys.Dismiss) {
		d.confirming = false
		d.confirm.input.Blur()
		return nil, reply{}
	}
	ok, cmd := d.confirm.key(k)
	if !ok {
		return cmd, reply{}
	}
	return nil, d.result(d.then)
}

// paste feeds pasted text to the confirmation input.
func (d *stopDialog) paste(_ *Model, p tea.PasteMsg) tea.Cmd {
	if !d.confirming {
		return nil
	}
	return d.confirm.paste(p)
}

func (d *stopDialog) snapshot(_ *Model, s *model.Snapshot) { d.refresh(s.Rows) }
func (d *stopDialog) asking() question                     { return "stop" }
func (d *stopDialog) opaque() bool                         { return false }

func (d *stopDialog) hints(m *Model) []key.Binding {
	if d.confirming {
		return m.keys.confirmHelp()
	}
	return m.keys.dialogHelp()
}

// maxListed is how many rows a dialog names before "… N more".
const maxListed = 4

// lines renders the dialog's content for an inner width; cursorLine is the
// line of the confirmation input (-1 when none), cursorX its cursor's cell.
func (d *stopDialog) lines(width int, th *themes.Theme) (out []string, cursorLine, cursorX int) {
	st := &th.Styles
	add := func(s string, tone themes.Tone) {
		for l := range strings.SplitSeq(wrap(s, width), "\n") {
			out = append(out, st.Fg[tone].Render(l))
		}
	}
	verb := "Stop"
	if d.kind == dialogRestart {
		verb = "Restart"
	}
	safe, pending := d.counts()
	if len(d.rows) == 1 {
		r := &d.rows[0]
		out = append(out, st.Section.Render(truncate(fmt.Sprintf("%s %s (%s)?", verb, printable(r.Label(), false), printable(r.Service, false)), width)))
		out = append(out, "")
		v := d.verdict[0]
		if v.Safe {
			add("✓ safe to stop now: "+v.Reason, themes.ToneOK)
		} else {
			add("✗ NOT safe to stop now: "+v.Reason, themes.ToneDanger)
		}
		if r.PendingStop {
			add("⏸ a stop is pending: it runs by itself once stopping is safe", themes.ToneWarn)
		}
		if d.gone[0] {
			add("(not in the latest snapshot: showing its last known state)", themes.ToneWarn)
		}
	} else {
		out = append(out, st.Section.Render(truncate(fmt.Sprintf("%s %d services?", verb, len(d.rows)), width)))
		out = append(out, "")
		tone := themes.ToneOK
		if safe < len(d.rows) {
			tone = themes.ToneWarn
		}
		add(fmt.Sprintf("%d safe to stop now, %d not safe", safe, len(d.rows)-safe), tone)
		if pending > 0 {
			have := "have"
			if pending == 1 {
				have = "has"
			}
			add(fmt.Sprintf("%d already %s a stop pending", pending, have), themes.ToneWarn)
		}
		shown := 0
		for i := range d.rows {
			if d.verdict[i].Safe {
				continue
			}
			if shown == maxListed {
				out = append(out, st.Fg[themes.ToneMuted].Render(truncate(fmt.Sprintf("  … and %d more not safe", len(d.rows)-safe-shown), width)))
				break
			}
			out = append(out, st.Fg[themes.ToneDanger].Render(truncate("  ✗ "+printable(d.rows[i].Label(), false)+": "+d.verdict[i].Reason, width)))
			shown++
		}
	}
	out = append(out, "")
	if d.confirming {
		what := "force-stop it"
		if d.then == choiceForceRestart {
			what = "force-restart it"
		}
		if len(d.rows) > 1 {
			what = strings.Replace(what, " it", " all of them", 1)
		}
		lines, cl, cx := d.confirm.lines(what, width, th)
		return append(out, lines...), len(out) + cl, cx
	}
	return append(out, d.buttons.lines(width, st)...), -1, 0
}

// draw paints the dialog box over the middle of body and says where the
// terminal cursor goes (the confirmation input), relative to the body.
func (d *stopDialog) draw(m *Model, body string) (string, *tea.Cursor) {
	h := m.bodyHeight()
	lines := make([]string, 0, h)
	for line := range strings.SplitSeq(body, "\n") {
		if len(lines) == h {
			break
		}
		lines = append(lines, line)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	box, bw, cursor := d.box(m.width-2, &m.theme)
	x, y := max(0, (m.width-bw)/2), max(0, (h-len(box))/2)
	for i, l := range box {
		if y+i >= h {
			break
		}
		lines[y+i] = overlayLine(lines[y+i], l, x, bw)
	}
	if cursor != nil {
		cursor.X += x
		cursor.Y += y
	}
	return strings.Join(lines, "\n"), cursor
}

// box draws the dialog with a border, at most maxW wide; it returns the
// box's lines, its width and where the input's cursor is inside it.
func (d *stopDialog) box(maxW int, th *themes.Theme) (lines []string, w int, cursor *tea.Cursor) {
	st := &th.Styles
	w = min(maxW, 76)
	inner := max(10, w-4)
	content, cl, cx := d.lines(inner, th)
	border := inkOf(st.Dialog)
	lines = append(lines, border.paint("╭"+strings.Repeat("─", w-2)+"╮"))
	for i, c := range content {
		c = ansiTruncate(c, inner)
		pad := strings.Repeat(" ", max(0, inner-ansi.StringWidth(c)))
		lines = append(lines, border.paint("│ ")+c+pad+border.paint(" │"))
		if i == cl {
			if c := d.confirm.input.Cursor(); c != nil {
				c.X, c.Y = 2+cx, len(lines)-1
				cursor = c
			}
		}
	}
	lines = append(lines, border.paint("╰"+strings.Repeat("─", w-2)+"╯"))
	return lines, w, cursor
}
