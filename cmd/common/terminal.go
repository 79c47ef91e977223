package common

import (
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
)

// NeedTerminal says, before a full-screen program starts, whether there is
// a terminal for it: Bubble Tea reads keys from stdin when it is one, else
// from the controlling terminal, and fails without either. what names the
// program for the error ("the dashboard"); hint is added to it.
func NeedTerminal(what, hint string) error {
	if term.IsTerminal(os.Stdin.Fd()) {
		return nil
	}
	in, out, err := tea.OpenTTY()
	if err != nil {
		return fmt.Errorf("%s needs a terminal (%v)%s", what, err, hint)
	}
	in.Close()
	out.Close()
	return nil
}
