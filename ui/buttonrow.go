package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

// button is one button of a row: what it shows and the value pressing it
// gives. The value tells buttons apart, never the label.
type button[A comparable] struct {
	label string
	act   A
	on    bool
	why   string // why it is off, shown beside the label
}

// buttonRow is a row of buttons with one focused, for the stop dialog and
// the flows' pages. A row that guards a change lists Cancel (or Skip)
// first, so the focus starts there. It knows no time: the grace after a
// row appears is the overlay stack's (see overlays).
type buttonRow[A comparable] struct {
	list  []button[A]
	focus int
}

func newButtonRow[A comparable](list ...button[A]) buttonRow[A] {
	return buttonRow[A]{list: list}
}

// set replaces the buttons, keeping the focus on the same value while it
// stays on, else on the first.
func (r *buttonRow[A]) set(list ...button[A]) {
	had, ok := r.focused()
	r.list, r.focus = list, 0
	for i, b := range list {
		if ok && b.act == had && b.on {
			r.focus = i
		}
	}
}

// focused is the focused button's value; ok is false for an empty row.
func (r *buttonRow[A]) focused() (a A, ok bool) {
	if r.focus < len(r.list) {
		return r.list[r.focus].act, true
	}
	return a, false
}

// move moves the focus to the next button that is on, wrapping.
func (r *buttonRow[A]) move(dir int) {
	n := len(r.list)
	for i, f := 0, r.focus; i < n; i++ {
		f = (f + dir + n) % n
		if r.list[f].on {
			r.focus = f
			return
		}
	}
}

// key handles tab/shift+tab/arrows and enter; pressed is set, with the
// button's value, when enter was pressed on a button that is on.
func (r *buttonRow[A]) key(k tea.KeyPressMsg, keys *KeyMap) (act A, pressed bool) {
	switch {
	case key.Matches(k, keys.NextButton):
		r.move(1)
	case key.Matches(k, keys.PrevButton):
		r.move(-1)
	case key.Matches(k, keys.Press):
		if r.focus < len(r.list) && r.list[r.focus].on {
			return r.list[r.focus].act, true
		}
	}
	return act, false
}

// lines lays the row out in width, left to right, wrapping when the
// buttons do not fit. Readable without colour: the focused one is "> X <",
// one that is off "[ X (why) ]".
func (r *buttonRow[A]) lines(width int, st *themes.Styles) []string {
	var lines []string
	var cur strings.Builder
	curW := 0
	for i, b := range r.list {
		s, style := "[ "+b.label+" ]", st.Button
		switch {
		case !b.on:
			s, style = "[ "+b.label+" ("+b.why+") ]", st.ButtonDisabled
		case i == r.focus:
			s, style = "> "+b.label+" <", st.ButtonFocused
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

// pageLines is the row as a flow's page shows it: laid out in width and
// indented by two.
func (r *buttonRow[A]) pageLines(width int, st *themes.Styles) []string {
	lines := r.lines(width, st)
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return lines
}
