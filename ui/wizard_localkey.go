package ui

// Step 3 of the migration wizard: a node with local.key is a supervised
// single-identity node, which a merge refuses: rename each local.key found
// in the sources or the target to a descriptive name.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/merge"
	"postdeck/themes"
)

// renameTimeout bounds the renames and the look for local.key after them.
const renameTimeout = 30 * time.Second

type localKeyStep struct {
	locals    []wizLocal
	renaming  bool
	renameErr string
	renamed   []string // what was renamed, shown once nothing is left to rename
}

// wizLocal is a local.key to rename.
type wizLocal struct {
	dir  string
	side string
	in   pathInput
}

type wizRenameMsg struct {
	msgs   []string
	ok     []bool
	locals []string
}

func (s *localKeyStep) name() string { return "local.key" }

func (s *localKeyStep) enter(w *wizard, m *Model) tea.Cmd {
	s.renameErr = ""
	return s.setLocals(w, m, w.localDirs)
}

// setLocals lists the local.key files to rename, keeping typed names, and
// focuses the first.
func (s *localKeyStep) setLocals(w *wizard, m *Model, dirs []string) tea.Cmd {
	old := map[string]string{}
	for _, l := range s.locals {
		old[l.dir] = l.in.value()
	}
	s.locals = nil
	for _, d := range dirs {
		side := "source"
		if d == w.target {
			side = "target"
		}
		name, ok := old[d]
		if !ok {
			name = filepath.Base(d) + ".key"
		}
		s.locals = append(s.locals, wizLocal{dir: d, side: side, in: newPathInput(&m.theme, name, "")})
	}
	if len(s.locals) > 0 {
		return s.locals[0].in.focus()
	}
	return nil
}

func (s *localKeyStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	switch k.String() {
	case "esc":
		return nil, navBack
	case "enter":
		switch {
		case s.renaming:
			return nil, navStay
		case len(s.locals) == 0:
			return nil, navNext
		}
		return s.rename(w, m), navStay
	case "up", "shift+tab":
		return s.move(-1), navStay
	case "down", "tab":
		return s.move(1), navStay
	}
	if l := s.focused(); l != nil {
		return l.in.update(k), navStay
	}
	return nil, navStay
}

func (s *localKeyStep) focused() *wizLocal {
	for j := range s.locals {
		if s.locals[j].in.input.Focused() {
			return &s.locals[j]
		}
	}
	return nil
}

// move focuses the next (dir 1) or previous (-1) name, wrapping.
func (s *localKeyStep) move(dir int) tea.Cmd {
	n := len(s.locals)
	if n < 2 {
		return nil
	}
	i := 0
	for j := range s.locals {
		if s.locals[j].in.input.Focused() {
			i = j
		}
		s.locals[j].in.blur()
	}
	return s.locals[(i+dir+n)%n].in.focus()
}

// rename renames every local.key to the name typed for it, in a Cmd.
func (s *localKeyStep) rename(w *wizard, m *Model) tea.Cmd {
	type job struct{ dir, name string }
	var jobs []job
	for _, l := range s.locals {
		jobs = append(jobs, job{l.dir, strings.TrimSpace(l.in.value())})
	}
	dirs := append(slices.Clone(w.sources), w.target)
	s.renaming = true
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), renameTimeout)
		defer cancel()
		var r wizRenameMsg
		for _, j := range jobs {
			msg, err := merge.RenameLocalKey(ctx, j.dir, j.name)
			if err != nil {
				msg = err.Error()
			}
			r.msgs, r.ok = append(r.msgs, msg), append(r.ok, err == nil)
		}
		r.locals, _ = merge.LocalKeys(ctx, dirs) // none found on a timeout: the plans refuse a local.key left
		return r
	})
}

func (s *localKeyStep) result(w *wizard, m *Model, msg tea.Msg) tea.Cmd {
	r, ok := msg.(wizRenameMsg)
	if !ok {
		return nil
	}
	s.renaming = false
	var errs []string
	for i, ok := range r.ok {
		if ok {
			w.done = append(w.done, r.msgs[i])
			s.renamed = append(s.renamed, r.msgs[i])
		} else {
			errs = append(errs, r.msgs[i])
		}
	}
	s.renameErr = strings.Join(errs, "; ")
	w.localDirs = r.locals
	return s.setLocals(w, m, r.locals)
}

func (s *localKeyStep) paste(w *wizard, m *Model, p tea.PasteMsg) tea.Cmd {
	if l := s.focused(); l != nil {
		return l.in.update(p)
	}
	return nil
}

func (s *localKeyStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	p.fixed, p.cursorLine, p.cursorX = s.lines(w, t, width, &m.theme)
	p.hints = flowHelp(hint("enter", "rename / continue"), hint("↑/↓", "field"), hint("esc", "back"))
}

func (s *localKeyStep) lines(w *wizard, t *text, width int, th *themes.Theme) (fixed []string, cl, cx int) {
	cl = -1
	if s.renameErr != "" {
		t.item("✗", s.renameErr, themes.ToneDanger)
		t.blank()
	}
	if len(s.locals) == 0 {
		t.item("✓", "no local.key in the sources or the target: nothing to rename", themes.ToneOK)
		for _, d := range s.renamed {
			t.item("✓", d, themes.ToneOK)
		}
		t.blank()
		t.add("Press enter to see the merge plans.", themes.ToneText, 1)
		return nil, -1, 0
	}
	t.add("A node with local.key is a supervised single-identity node: a merge refuses it, and the node refuses to start with local.key beside other keys. Rename each to a descriptive name (the rename never replaces a file):", themes.ToneText, 1)
	st := &th.Styles
	for _, l := range s.locals {
		lead := fmt.Sprintf("  %s/identities/local.key → ", l.dir)
		if cellWidth(lead) > width/2 {
			fixed = append(fixed, st.Label.Render(truncate(lead, width)))
			lead = "      → "
		}
		l.in.input.SetWidth(max(10, width-cellWidth(lead)-2))
		if l.in.input.Focused() {
			cl = len(fixed)
			if c := l.in.input.Cursor(); c != nil {
				cx = cellWidth(lead) + c.X
			}
		}
		fixed = append(fixed, st.Label.Render(lead)+l.in.input.View())
	}
	if s.renaming {
		fixed = append(fixed, "  "+st.Fg[themes.ToneAccent].Render("renaming…"))
	}
	return fixed, cl, cx
}
