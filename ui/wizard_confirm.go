package ui

// Step 5 of the migration wizard: the merges start only once the target
// folder's name is typed.

import (
	"fmt"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"postdeck/themes"
)

type confirmStep struct {
	noResults
	confirm confirmInput
}

func (s *confirmStep) name() string { return "confirm" }

func (s *confirmStep) enter(w *wizard, m *Model) tea.Cmd {
	var cmd tea.Cmd
	s.confirm, cmd = newConfirm(&m.theme, filepath.Base(w.target))
	return cmd
}

func (s *confirmStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	if k.String() == "esc" {
		return nil, navBack
	}
	ok, cmd := s.confirm.key(k)
	if ok {
		return nil, navNext
	}
	return cmd, navStay
}

func (s *confirmStep) paste(w *wizard, m *Model, p tea.PasteMsg) tea.Cmd {
	return s.confirm.paste(p)
}

func (s *confirmStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	t.add(fmt.Sprintf("Ready to merge %d node(s) into %s, one after another:", len(w.sources), w.target), themes.ToneText, 1)
	for i, pl := range w.batch.Plans {
		t.item(fmt.Sprintf("%d.", i+1), fmt.Sprintf("%s: %d key(s), %d row(s)", pl.From, len(pl.Keys), pl.Rows()), themes.ToneText)
	}
	t.blank()
	t.add("Each merge backs the target up first, copies the rows in one transaction and then the keys: if one fails, the target is left as it was before that merge and the wizard stops there.", themes.ToneMuted, 1)
	p.fixed, p.cursorLine, p.cursorX = s.confirm.lines("start the merges", width, &m.theme)
	p.hints = flowHelp(hint("enter", "merge"), hint("esc", "back"))
}
