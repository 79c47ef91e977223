package ui

// Step 1 of the migration wizard: the old nodes' data folders (sources,
// as many as needed) and the target, this node's data folder.

import (
	"fmt"
	"slices"

	tea "charm.land/bubbletea/v2"

	"postdeck/merge"
	"postdeck/themes"
)

type foldersStep struct {
	form    form // the sources, then the target last
	formErr string
}

func newFoldersStep(m *Model) *foldersStep {
	return &foldersStep{form: form{fields: []field{
		{label: "Source 1 (old node)", path: true, in: newPathInput(&m.theme, "", "an old node's data folder: local.sql and identities/")},
		{label: "Target (this node)", path: true, in: newPathInput(&m.theme, m.cfg.Node.DataFolder, "")},
	}}}
}

func (s *foldersStep) name() string { return "folders" }

func (s *foldersStep) enter(w *wizard, m *Model) tea.Cmd { return s.form.focusOn(s.form.focus) }

func (s *foldersStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	switch k.String() {
	case "esc":
		return nil, navLeave
	case "enter":
		return nil, s.done(w)
	case "ctrl+n":
		return s.addSource(m), navStay
	}
	s.formErr = ""
	return s.form.key(k, m.flowCmd), navStay
}

// addSource adds a source field before the target.
func (s *foldersStep) addSource(m *Model) tea.Cmd {
	n := len(s.form.fields)
	f := field{label: fmt.Sprintf("Source %d (old node)", n), path: true, in: newPathInput(&m.theme, "", "another old node's data folder")}
	s.form.fields = slices.Insert(s.form.fields, n-1, f)
	s.form.focus = n - 1
	for i := range s.form.fields {
		s.form.fields[i].in.blur()
	}
	return s.form.focusOn(n - 1)
}

// done checks the folders typed; the checklist comes next.
func (s *foldersStep) done(w *wizard) nav {
	fs := s.form.fields
	target := resolvePath(fs[len(fs)-1].in.value())
	var typed []string
	for _, f := range fs[:len(fs)-1] {
		typed = append(typed, resolvePath(f.in.value()))
	}
	sources, err := merge.CheckFolders(typed, target)
	if err != nil {
		s.formErr = err.Error()
		return navStay
	}
	w.sources, w.target, s.formErr = sources, target, ""
	return navNext
}

func (s *foldersStep) result(w *wizard, m *Model, msg tea.Msg) tea.Cmd {
	if c, ok := msg.(completeMsg); ok {
		s.form.apply(c)
	}
	return nil
}

func (s *foldersStep) paste(w *wizard, m *Model, p tea.PasteMsg) tea.Cmd { return s.form.paste(p) }

func (s *foldersStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	t.add("Moves the identities of one or more old nodes onto this node, as the guide says: stop every node, rename local.key, merge each old node's data folder into this one, add a post-service per identity, restart and check. Nothing changes before step 5's confirmation (except the local.key rename in step 3, which asks first).", themes.ToneText, 1)
	t.blank()
	p.fixed, p.cursorLine, p.cursorX = s.form.lines(width, &m.theme)
	if s.formErr != "" {
		t.item("✗", s.formErr, themes.ToneDanger)
	}
	p.hints = flowHelp(hint("tab", "complete folder"), hint("ctrl+n", "another source"), hint("↑/↓", "field"), hint("enter", "check"), hint("esc", "leave"))
}
