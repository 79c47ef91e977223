package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
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

type button struct {
	label   string
	choice  choice
	enabled bool
	why     string // why it is disabled, shown beside the label
}

// dialogResult is the dialog's answer to its parent (crush style: the
// dialog decides, the parent acts). Zero means keep the dialog open.
type dialogResult struct {
	close    bool
	kind     opKind
	mode     model.StopMode
	services []string
}

// stopDialog asks how to stop (or restart) one or more services, showing the
// safe-stop verdict of each, recomputed on every snapshot while it is open.
type stopDialog struct {
	kind    dialogKind
	keys    []string    // the rows asked about
	rows    []model.Row // their latest copies
	gone    []bool      // not in the latest snapshot
	verdict []model.Verdict
	skipped []string // targets without a service, for the result line
	opened  time.Time

	buttons []button
	focus   int

	// While confirming a forced stop: what must be typed, and what it does.
	confirming bool
	want       string
	then       choice
	input      textinput.Model
	wrong      string
}

// openDialog puts a new dialog over the table; Cancel has the focus.
func (m *Model) openDialog(kind dialogKind, rows []*model.Row, skipped []string) {
	d := &stopDialog{kind: kind, skipped: skipped, opened: m.now()}
	for _, r := range rows {
		d.keys = append(d.keys, r.Key)
		d.rows = append(d.rows, *r)
	}
	d.gone = make([]bool, len(rows))
	d.recheck()
	m.dialog = d
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
	focused := choiceCancel
	if d.focus < len(d.buttons) {
		focused = d.buttons[d.focus].choice
	}
	d.buttons = d.makeButtons()
	d.focus = 0
	for i, b := range d.buttons {
		if b.choice == focused && b.enabled {
			d.focus = i
		}
	}
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

func (d *stopDialog) makeButtons() []button {
	safe, pending := d.counts()
	one := len(d.rows) == 1
	bs := []button{{label: "Cancel", choice: choiceCancel, enabled: true}}
	if d.kind == dialogRestart {
		if one {
			bs = append(bs, button{label: "Restart", choice: choiceRestart, enabled: safe == 1, why: "not safe"},
				button{label: "Force restart", choice: choiceForceRestart, enabled: true})
		} else {
			bs = append(bs, button{label: "Restart safe ones now", choice: choiceRestart, enabled: safe > 0, why: "none safe"},
				button{label: "Force restart all", choice: choiceForceRestart, enabled: true})
		}
		return bs
	}
	switch {
	case one && pending == 1:
		bs = append(bs, button{label: "Cancel pending stop", choice: choiceCancelPending, enabled: true},
			button{label: "Force stop", choice: choiceForce, enabled: true})
	case one:
		bs = append(bs, button{label: "Stop", choice: choiceStop, enabled: safe == 1, why: "not safe"},
			button{label: "Stop when safe", choice: choiceWhenSafe, enabled: true},
			button{label: "Force stop", choice: choiceForce, enabled: true})
	default:
		bs = append(bs, button{label: "Stop safe ones now", choice: choiceStop, enabled: safe > 0, why: "none safe"},
			button{label: "Stop all when safe", choice: choiceWhenSafe, enabled: pending < len(d.rows), why: "all pending"})
		if pending > 0 {
			bs = append(bs, button{label: "Cancel pending stops", choice: choiceCancelPending, enabled: true})
		}
		bs = append(bs, button{label: "Force stop all", choice: choiceForce, enabled: true})
	}
	return bs
}

// update handles a key. Keys in the grace period after opening are dropped.
func (d *stopDialog) update(k tea.KeyPressMsg, now time.Time, keys *KeyMap) (dialogResult, tea.Cmd) {
	if now.Sub(d.opened) < dialogGrace {
		return dialogResult{}, nil
	}
	if d.confirming {
		return d.confirmKey(k, keys)
	}
	switch {
	case key.Matches(k, keys.Dismiss):
		return dialogResult{close: true}, nil
	case key.Matches(k, keys.NextButton):
		d.moveFocus(1)
	case key.Matches(k, keys.PrevButton):
		d.moveFocus(-1)
	case key.Matches(k, keys.Press):
		return d.press()
	}
	return dialogResult{}, nil
}

// moveFocus moves to the next enabled button in direction dir, wrapping.
func (d *stopDialog) moveFocus(dir int) {
	n := len(d.buttons)
	for i, f := 0, d.focus; i < n; i++ {
		f = (f + dir + n) % n
		if d.buttons[f].enabled {
			d.focus = f
			return
		}
	}
}

// press acts on the focused button.
func (d *stopDialog) press() (dialogResult, tea.Cmd) {
	b := d.buttons[d.focus]
	if !b.enabled {
		return dialogResult{}, nil
	}
	switch b.choice {
	case choiceCancel:
		return dialogResult{close: true}, nil
	case choiceForce, choiceForceRestart:
		return dialogResult{}, d.startConfirm(b.choice)
	}
	return d.result(b.choice), nil
}

// result turns a choice into the services to act on.
func (d *stopDialog) result(c choice) dialogResult {
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
	r := dialogResult{close: true, kind: opStop}
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
	return r
}

// startConfirm asks to type the identity's name (or "force" for several)
// before a forced stop.
func (d *stopDialog) startConfirm(c choice) tea.Cmd {
	d.confirming, d.then, d.wrong = true, c, ""
	d.want = "force"
	if len(d.rows) == 1 {
		d.want = d.rows[0].Label()
	}
	ti := textinput.New()
	ti.Prompt = "> "
	ti.SetVirtualCursor(false)
	ti.CharLimit = 256
	ti.SetWidth(40)
	d.input = ti
	return d.input.Focus()
}

// confirmKey handles a key while the name is typed: enter checks it, esc
// goes back to the buttons.
func (d *stopDialog) confirmKey(k tea.KeyPressMsg, keys *KeyMap) (dialogResult, tea.Cmd) {
	switch {
	case key.Matches(k, keys.Dismiss):
		d.confirming = false
		d.input.Blur()
		return dialogResult{}, nil
	case key.Matches(k, keys.Press):
		if d.input.Value() != d.want {
			d.wrong = "that is not " + printable(d.want, false) + "; nothing was stopped"
			return dialogResult{}, nil
		}
		return d.result(d.then), nil
	}
	d.wrong = ""
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(k)
	return dialogResult{}, cmd
}

// dialogKey routes a key to the open dialog and acts on its answer.
func (m *Model) dialogKey(k tea.KeyPressMsg) tea.Cmd {
	res, cmd := m.dialog.update(k, m.now(), &m.keys)
	if !res.close {
		return cmd
	}
	d := m.dialog
	m.dialog = nil
	if len(res.services) == 0 {
		return nil // cancelled
	}
	return m.runOp(res.kind, res.mode, res.services, d.skipped)
}

// dialogPaste feeds pasted text to the confirmation input.
func (m *Model) dialogPaste(p tea.PasteMsg) tea.Cmd {
	d := m.dialog
	if !d.confirming || m.now().Sub(d.opened) < dialogGrace {
		return nil
	}
	var cmd tea.Cmd
	d.input, cmd = d.input.Update(p)
	return cmd
}

// maxListed is how many rows a dialog names before "… N more".
const maxListed = 4

// lines renders the dialog's content for an inner width; cursorLine is the
// line of the confirmation input, -1 when none.
func (d *stopDialog) lines(width int, th *themes.Theme) (out []string, cursorLine int) {
	st := &th.Styles
	cursorLine = -1
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
		add(fmt.Sprintf("Type %s and press enter to %s (esc goes back):", printable(d.want, false), what), themes.ToneWarn)
		cursorLine = len(out)
		d.input.SetWidth(max(5, width-3))
		out = append(out, d.input.View())
		if d.wrong != "" {
			add("✗ "+d.wrong, themes.ToneDanger)
		}
		return out, cursorLine
	}
	out = append(out, d.buttonLines(width, st)...)
	return out, cursorLine
}

// buttonLines lays the buttons out (see layoutButtons).
func (d *stopDialog) buttonLines(width int, st *themes.Styles) []string {
	return layoutButtons(len(d.buttons), d.focus, width, st, func(i int) (string, string, bool) {
		return d.buttons[i].label, d.buttons[i].why, d.buttons[i].enabled
	})
}

// dialogBox draws the dialog with a border, at most maxW wide; it returns
// the box's lines, its width and where the input's cursor is inside it.
func (m *Model) dialogBox(maxW int) (lines []string, w int, cursor *tea.Cursor) {
	d := m.dialog
	st := &m.theme.Styles
	w = min(maxW, 76)
	inner := max(10, w-4)
	content, cl := d.lines(inner, &m.theme)
	border := inkOf(st.Dialog)
	lines = append(lines, border.paint("╭"+strings.Repeat("─", w-2)+"╮"))
	for i, c := range content {
		c = ansiTruncate(c, inner)
		pad := strings.Repeat(" ", max(0, inner-ansi.StringWidth(c)))
		lines = append(lines, border.paint("│ ")+c+pad+border.paint(" │"))
		if i == cl {
			if c := d.input.Cursor(); c != nil {
				c.X += 2
				c.Y = len(lines) - 1
				cursor = c
			}
		}
	}
	lines = append(lines, border.paint("╰"+strings.Repeat("─", w-2)+"╯"))
	return lines, w, cursor
}
