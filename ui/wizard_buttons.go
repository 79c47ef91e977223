package ui

// A row of buttons for the flows' pages, laid out like the stop dialog's.

import (
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

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
