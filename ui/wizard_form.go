package ui

// A small form of one-line text fields (with folder completion) and
// toggles, for the flows' first pages.

import (
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

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
		view, more := x.in.view(max(10, width-cellWidth(lead)-2))
		line := st.Label.Render(lead) + view
		if i == f.focus {
			cursorLine = len(out)
			if c := x.in.input.Cursor(); c != nil {
				cursorX = cellWidth(lead) + c.X
			}
		}
		out = append(out, ansiTruncate(line, width))
		for _, l := range more {
			out = append(out, strings.Repeat(" ", cellWidth(lead))+st.Fg[themes.ToneMuted].Render(l))
		}
		if i == f.focus {
			for _, l := range x.in.notes(width - cellWidth(lead)) {
				out = append(out, strings.Repeat(" ", cellWidth(lead))+st.Fg[themes.ToneMuted].Render(l))
			}
		}
	}
	return out, cursorLine, cursorX
}
