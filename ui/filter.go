package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"postdeck/model"
	"postdeck/themes"
)

// filterInput is the footer's filter line. The table filters live as the
// text changes; text that is not a valid regex leaves the last valid filter
// in place and shows why.
type filterInput struct {
	input  textinput.Model
	active bool   // the input has focus and takes the keys
	err    string // why the typed text is not a valid filter
}

func newFilterInput(th *themes.Theme) filterInput {
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "regex; a leading ! inverts"
	// A real terminal cursor: the virtual one draws with reverse video, which
	// the colourless theme must not emit, and blinks by re-rendering.
	ti.SetVirtualCursor(false)
	st := &th.Styles
	state := textinput.StyleState{Prompt: st.Prompt, Placeholder: st.Fg[themes.ToneMuted], Suggestion: st.Fg[themes.ToneMuted]}
	ti.SetStyles(textinput.Styles{
		Focused: state,
		Blurred: state,
		Cursor:  textinput.CursorStyle{Color: th.Palette.Accent, Shape: tea.CursorBar, Blink: true},
	})
	return filterInput{input: ti}
}

func (f *filterInput) setWidth(w int) {
	// Leave room for the prompt and an error message.
	f.input.SetWidth(max(10, w/3))
}

// openFilter focuses the input, starting from the filter in force.
func (m *Model) openFilter() tea.Cmd {
	m.filter.active = true
	m.filter.err = ""
	m.filter.input.SetValue(m.table.filter.Expr)
	m.filter.input.CursorEnd()
	return m.filter.input.Focus()
}

// filterKey handles a key while the filter input has focus.
func (m *Model) filterKey(k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.Accept):
		// Keep the filter in force; drop text that never became valid.
		m.closeFilter()
		m.filter.input.SetValue(m.table.filter.Expr)
		return nil
	case key.Matches(k, m.keys.Cancel):
		m.closeFilter()
		m.clearFilter()
		return nil
	}
	return m.filterUpdate(k)
}

// filterUpdate feeds the input and applies its text when it changed.
func (m *Model) filterUpdate(msg tea.Msg) tea.Cmd {
	before := m.filter.input.Value()
	var cmd tea.Cmd
	m.filter.input, cmd = m.filter.input.Update(msg)
	if v := m.filter.input.Value(); v != before {
		m.applyFilter(v)
	}
	return cmd
}

// applyFilter filters the table by expr when it is a valid filter.
func (m *Model) applyFilter(expr string) {
	f, err := model.ParseFilter(expr)
	if err != nil {
		m.filter.err = strings.Replace(err.Error(), "error parsing regexp: ", "", 1)
		return
	}
	m.filter.err = ""
	m.table.setFilter(f)
}

func (m *Model) closeFilter() {
	m.filter.active = false
	m.filter.err = ""
	m.filter.input.Blur()
}

// clearFilter shows every row again.
func (m *Model) clearFilter() {
	m.filter.input.SetValue("")
	if m.table.filter.Expr != "" {
		m.table.setFilter(model.Filter{})
	}
}
