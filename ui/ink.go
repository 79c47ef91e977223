package ui

import (
	"strings"

	"charm.land/lipgloss/v2"

	"postdeck/themes"
)

// ink is a style reduced to the escape sequences around its text. Drawing a
// line with it is a concatenation instead of a lipgloss Render (which measures
// and splits its input), so a frame of the table stays far below a
// millisecond. Only for styles without padding, width or borders.
type ink struct{ pre, post string }

func inkOf(s lipgloss.Style) ink {
	r := s.Render("x") // SGR sequences never contain an x
	i := strings.IndexByte(r, 'x')
	if i < 0 {
		return ink{}
	}
	return ink{pre: r[:i], post: r[i+1:]}
}

// paint wraps s in the style's sequences.
func (k ink) paint(s string) string {
	if k.pre == "" && k.post == "" {
		return s
	}
	return k.pre + s + k.post
}

// inks are the theme's hot-path styles, made once per theme.
type inks struct {
	fg, row, selected [themes.NumTones]ink
	marked            [themes.NumTones]ink
	title, subtle     ink
	columnHeader      ink
	match             ink // a search match in the logs view
}

func newInks(st *themes.Styles) inks {
	var k inks
	for t := range themes.NumTones {
		k.fg[t], k.row[t], k.selected[t] = inkOf(st.Fg[t]), inkOf(st.Row[t]), inkOf(st.Selected[t])
		k.marked[t] = inkOf(st.Marked[t])
	}
	k.title, k.subtle, k.columnHeader = inkOf(st.Title), inkOf(st.Subtle), inkOf(st.ColumnHeader)
	k.match = inkOf(st.Match)
	return k
}
