package ui

// Step 7 of the migration wizard: a [[service]] for each merged identity,
// its PoST data folder checked against the key (backend.ProposeService).

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/merge"
	"postdeck/themes"
)

type servicesStep struct {
	focus  int // the identity whose folder is asked; len(ids) when done
	ready  bool
	adding bool
}

type (
	wizServicesMsg struct {
		existing map[string]string // key file → "service X (dir D)"
		note     string
	}
	wizServiceMsg struct {
		i     int
		state string
		err   error
	}
)

func (s *servicesStep) name() string { return "services" }

// serviceFolderHint is the hint in step 7's folder entry.
const serviceFolderHint = "its PoST data folder (tab completes); empty + enter skips"

func (s *servicesStep) enter(w *wizard, m *Model) tea.Cmd {
	w.ids = nil
	for _, r := range w.runs {
		if r.sum == nil {
			continue
		}
		for _, k := range r.sum.Keys {
			w.ids = append(w.ids, wizID{key: k, source: r.from,
				in: newPathInput(&m.theme, "", serviceFolderHint)})
		}
	}
	s.ready, s.focus = false, 0
	cfg, target := m.cfg, w.target
	return m.flowDo(func() tea.Msg { return existingServices(cfg, target) })
}

// existingServices finds the merged keys that already have a [[service]].
func existingServices(cfg *config.Config, target string) wizServicesMsg {
	if cfg.Path == "" {
		return wizServicesMsg{note: "postdeck runs without a config file: add a [[service]] for each identity by hand"}
	}
	fresh, err := config.Load(cfg.Path)
	if err != nil {
		return wizServicesMsg{note: "the config does not load now, so no service can be added to it: " + firstLine(err.Error())}
	}
	out := map[string]string{}
	for _, l := range backend.ListKeys(target, fresh, nil) {
		if l.Service != "" {
			out[l.File] = fmt.Sprintf("already configured: service %q (dir %s)", l.Service, l.Dir)
		}
	}
	return wizServicesMsg{existing: out}
}

func (s *servicesStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	switch k.String() {
	case "esc":
		return nil, navAskLeave
	case "enter":
		return s.enterKey(w, m)
	case "tab":
		if s.focus < len(w.ids) {
			return m.flowCmd(w.ids[s.focus].in.complete()), navStay
		}
		return nil, navStay
	}
	if s.focus < len(w.ids) {
		return w.ids[s.focus].in.update(k), navStay
	}
	return nil, navStay
}

// enterKey adds the focused identity's service, skips it when no folder is
// given, or goes on once every identity is done.
func (s *servicesStep) enterKey(w *wizard, m *Model) (tea.Cmd, nav) {
	switch {
	case !s.ready || s.adding:
		return nil, navStay
	case s.focus >= len(w.ids):
		return nil, navNext
	}
	id := &w.ids[s.focus]
	switch {
	case strings.TrimSpace(id.in.value()) == "":
		id.state, id.tone = "skipped: no service added", themes.ToneWarn
		return s.focusNext(w), navStay
	case m.cfg.Path == "":
		id.state, id.tone = "no config file to add it to: add it by hand", themes.ToneWarn
		return s.focusNext(w), navStay
	}
	return s.add(w, m, s.focus), navStay
}

// add checks a PoST data folder against the key and appends its
// [[service]], in a Cmd.
func (s *servicesStep) add(w *wizard, m *Model, i int) tea.Cmd {
	id := w.ids[i]
	dir := resolvePath(id.in.value())
	path := m.cfg.Path
	s.adding = true
	return m.flowDo(func() tea.Msg {
		state, err := wizAddService(path, id.key, dir)
		return wizServiceMsg{i: i, state: state, err: err}
	})
}

// wizAddService appends the [[service]] proposed for the key (its PoST
// data checked against it) to the config at path, read fresh; the message
// says what was added.
func wizAddService(path string, key merge.KeyCopy, dir string) (string, error) {
	fresh, err := config.Load(path)
	if err != nil {
		return "", fmt.Errorf("the config does not load now: %v", err)
	}
	p, err := backend.ProposeService(fresh, backend.ServiceRequest{Key: key.Name, Public: key.Public, Dir: dir})
	switch {
	case err != nil:
		return "", err
	case p.Existing != nil:
		return "", errors.New(p.Note())
	}
	if err := config.AppendService(path, p.Service, p.Launch); err != nil {
		return "", err
	}
	svc := p.Service
	return fmt.Sprintf("added [[service]] %q (dir %s, operator %s)", svc.Name, svc.Dir, svc.Operator), nil
}

func (s *servicesStep) result(w *wizard, m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case completeMsg:
		for i := range w.ids {
			w.ids[i].in.apply(msg)
		}
	case wizServicesMsg:
		s.ready = true
		for i := range w.ids {
			if st, ok := msg.existing[w.ids[i].key.Name]; ok {
				w.ids[i].state, w.ids[i].tone, w.ids[i].serviced = st, themes.ToneOK, true
			} else if msg.note != "" {
				w.ids[i].state, w.ids[i].tone = msg.note, themes.ToneWarn
			}
		}
		return s.focusNext(w)
	case wizServiceMsg:
		s.adding = false
		id := &w.ids[msg.i]
		if msg.err != nil {
			id.err = msg.err.Error()
			return nil
		}
		id.err = ""
		id.state, id.tone, id.serviced = msg.state, themes.ToneOK, true
		w.done = append(w.done, msg.state+" for "+id.key.Name)
		return s.focusNext(w)
	}
	return nil
}

// focusNext moves to the next identity whose service is still to do.
func (s *servicesStep) focusNext(w *wizard) tea.Cmd {
	for i := range w.ids {
		w.ids[i].in.blur()
	}
	for i := range w.ids {
		if w.ids[i].state == "" {
			s.focus = i
			return w.ids[i].in.focus()
		}
	}
	s.focus = len(w.ids)
	return nil
}

func (s *servicesStep) paste(w *wizard, m *Model, p tea.PasteMsg) tea.Cmd {
	if s.focus < len(w.ids) {
		return w.ids[s.focus].in.update(p)
	}
	return nil
}

func (s *servicesStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	p.fixed, p.cursorLine, p.cursorX = s.lines(w, t, width, &m.theme)
	p.hints = flowHelp(hint("tab", "complete folder"), hint("enter", "check and add / skip when empty"), hint("esc", "leave"))
}

func (s *servicesStep) lines(w *wizard, t *text, width int, th *themes.Theme) (fixed []string, cl, cx int) {
	st := &th.Styles
	cl = -1
	t.add("Each merged identity needs a post-service proving its PoST data. Give each one's PoST data folder: it is checked against the key (its metadata's NodeId must be the key's public key) and a [[service]] is appended to "+orDash(w.cfgPath)+".", themes.ToneText, 1)
	t.blank()
	if !s.ready {
		t.item("…", "reading the config…", themes.ToneMuted)
		return nil, -1, 0
	}
	for i, id := range w.ids {
		label := fmt.Sprintf("%s (%s…, from %s)", id.key.Name, id.key.Short(), filepath.Base(id.source))
		switch {
		case id.state != "":
			t.item(map[bool]string{true: "✓", false: "·"}[id.tone == themes.ToneOK], label+": "+id.state, id.tone)
		case i == s.focus:
			t.item(">", label, themes.ToneAccent)
			if id.err != "" {
				t.sub("✗ "+id.err, themes.ToneDanger)
			}
		default:
			t.item("·", label+": to do", themes.ToneMuted)
		}
	}
	if s.focus >= len(w.ids) {
		t.blank()
		t.add("Press enter to go on: restart the node and check it has every identity.", themes.ToneText, 1)
		return nil, -1, 0
	}
	id := &w.ids[s.focus]
	lead := "  PoST data of " + id.key.Name + ": "
	view, more := id.in.view(max(10, width-cellWidth(lead)-2))
	fixed = append(fixed, st.Label.Render(lead)+view)
	if c := id.in.input.Cursor(); c != nil {
		cl, cx = 0, cellWidth(lead)+c.X
	}
	for _, l := range more {
		fixed = append(fixed, strings.Repeat(" ", cellWidth(lead))+st.Fg[themes.ToneMuted].Render(l))
	}
	for _, n := range id.in.notes(width - 4) {
		fixed = append(fixed, "    "+st.Fg[themes.ToneMuted].Render(n))
	}
	if s.adding {
		fixed = append(fixed, "  "+st.Fg[themes.ToneAccent].Render("checking and adding…"))
	}
	return fixed, cl, cx
}
