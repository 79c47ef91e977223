package ui

import (
	"fmt"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

// confirmInput asks to type a word before a change that cannot be taken
// back: the one typed confirmation (the stop dialog's forced stops, the
// merge, the wizard's merges). Esc is the caller's: it goes back.
type confirmInput struct {
	want      string
	unchanged string // what a wrong word leaves alone: "nothing was changed"
	input     textinput.Model
	wrong     string
}

func newConfirm(th *themes.Theme, want string) (confirmInput, tea.Cmd) {
	c := confirmInput{want: want, unchanged: "nothing was changed", input: newInput(th, "")}
	return c, c.input.Focus()
}

// key edits the text; ok is set when enter was pressed on the right word.
func (c *confirmInput) key(k tea.KeyPressMsg) (ok bool, cmd tea.Cmd) {
	if k.String() == "enter" {
		if c.input.Value() == c.want {
			return true, nil
		}
		c.wrong = "that is not " + printable(c.want, false) + "; " + c.unchanged
		return false, nil
	}
	c.wrong = ""
	c.input, cmd = c.input.Update(k)
	return false, cmd
}

// paste feeds pasted text to the entry.
func (c *confirmInput) paste(p tea.PasteMsg) tea.Cmd {
	var cmd tea.Cmd
	c.input, cmd = c.input.Update(p)
	return cmd
}

// lines draws the question and the entry; the entry is the second line.
func (c *confirmInput) lines(what string, width int, th *themes.Theme) (out []string, cursorLine, cursorX int) {
	st := &th.Styles
	t := newText(width, th)
	t.add(fmt.Sprintf("Type %s and press enter to %s (esc goes back):", c.want, what), themes.ToneWarn, 1)
	out = t.out
	cursorLine = len(out)
	c.input.SetWidth(max(10, width-6))
	out = append(out, "  > "+c.input.View())
	if cur := c.input.Cursor(); cur != nil {
		cursorX = 4 + cur.X
	}
	if c.wrong != "" {
		out = append(out, "  "+st.Fg[themes.ToneDanger].Render("✗ "+c.wrong))
	}
	return out, cursorLine, cursorX
}
