package ui

// Step 2 of the migration wizard: a checklist, checked and not asked, navAgain
// every second until every line is ticked: the node stopped, the folders
// readable, no database in use, schema versions, room for backups.

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/merge"
	"postdeck/themes"
)

// checkEvery is how often the checklist is re-evaluated.
const checkEvery = time.Second

type checksStep struct {
	noPaste
	check    *wizCheck // the latest checklist
	checking bool
}

// wizCheck is one evaluation of the checklist.
type wizCheck struct {
	addrs, answer []string      // the configured node's listeners; those that answered
	plans         []*merge.Plan // per source, planned without probing listeners
	errs          []string
	locals        []string // folders whose identities/ has local.key
}

type (
	wizCheckMsg   struct{ c *wizCheck }
	wizRecheckMsg struct{}
)

func (s *checksStep) name() string { return "checks" }

func (s *checksStep) enter(w *wizard, m *Model) tea.Cmd {
	s.check = nil
	return s.run(w, m)
}

// run evaluates the checklist in a Cmd.
func (s *checksStep) run(w *wizard, m *Model) tea.Cmd {
	s.checking = true
	sources, target, addrs := w.sources, w.target, config.NodeAddrsOf(m.cfg, w.target)
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		c := &wizCheck{addrs: addrs, answer: merge.Answering(ctx, addrs)}
		for _, src := range sources {
			p, err := merge.NewPlan(ctx, merge.Options{From: src, To: target})
			if err != nil {
				c.errs = append(c.errs, fmt.Sprintf("cannot check %s: %v", src, err))
			}
			c.plans = append(c.plans, p)
		}
		var err error
		if c.locals, err = merge.LocalKeys(ctx, append(slices.Clone(sources), target)); err != nil {
			c.errs = append(c.errs, fmt.Sprintf("cannot look for local.key: %v", err))
		}
		return wizCheckMsg{c}
	})
}

func (s *checksStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	switch k.String() {
	case "esc":
		return nil, navBack
	case "enter":
		if s.green(w) {
			return nil, navNext
		}
		m.setStatus("not every check is ticked yet: the list is checked again every second", themes.ToneWarn)
	}
	return nil, navStay
}

func (s *checksStep) result(w *wizard, m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case wizCheckMsg:
		s.checking = false
		if w.step != stepChecks {
			return nil
		}
		s.check, w.localDirs = msg.c, msg.c.locals
		return m.flowAfter(checkEvery, wizRecheckMsg{})
	case wizRecheckMsg:
		if w.step == stepChecks && !s.checking {
			return s.run(w, m)
		}
	}
	return nil
}

// checkItem is one line of the checklist.
type checkItem struct {
	ok      bool
	text    string
	details []string
}

// items turns a check into the checklist. The kinds of problem that belong
// to later steps (local.key, clashes) are left to them.
func (s *checksStep) items(w *wizard, c *wizCheck) []checkItem {
	kinds := func(ks ...string) []string {
		var msgs []string
		for _, p := range c.plans {
			if p == nil {
				continue
			}
			for _, pr := range p.Problems {
				if slices.Contains(ks, pr.Kind) && !slices.Contains(msgs, pr.Message) {
					msgs = append(msgs, pr.Message)
				}
			}
		}
		return msgs
	}
	out := []checkItem{checkNodeItem(c)}
	if ps := kinds(merge.KindPaths); len(ps) > 0 || len(c.errs) > 0 {
		out = append(out, checkItem{text: "the folders are node data folders", details: append(ps, c.errs...)})
	}
	if ps := kinds(merge.KindInUse); len(ps) > 0 {
		out = append(out, checkItem{text: "a database is in use (a node or another tool still runs)", details: ps})
	} else {
		out = append(out, checkItem{ok: true, text: "no process has a local.sql of the sources or the target open"})
	}
	if ps := kinds(merge.KindWAL); len(ps) > 0 {
		out = append(out, checkItem{text: "unfinished writes beside a database", details: ps})
	} else {
		out = append(out, checkItem{ok: true, text: "no unfinished writes (no non-empty -wal or -journal file)"})
	}
	if ps := kinds(merge.KindVersion, merge.KindBadDatabase, merge.KindSchema); len(ps) > 0 {
		out = append(out, checkItem{text: "database versions", details: ps})
	} else {
		out = append(out, checkVersionItem(w, c))
	}
	if ps := kinds(merge.KindReadOnly, merge.KindSpace, merge.KindUnfinished); len(ps) > 0 {
		out = append(out, checkItem{text: "backups cannot be made", details: ps})
	} else {
		out = append(out, checkBackupItem(w, c))
	}
	return out
}

// checkNodeItem: the configured node must not answer at its listeners.
func checkNodeItem(c *wizCheck) checkItem {
	switch {
	case len(c.addrs) == 0:
		return checkItem{ok: true, text: "the config names no node listener to probe: make sure the node is stopped (its database is checked below)"}
	case len(c.answer) > 0:
		return checkItem{text: "the configured node is running: it answers at " + strings.Join(c.answer, ", ") + ": stop it and wait until it has exited"}
	}
	return checkItem{ok: true, text: "the configured node is stopped: nothing answers at " + strings.Join(c.addrs, ", ")}
}

// checkVersionItem: every source's schema, once every folder can be read.
func checkVersionItem(w *wizard, c *wizCheck) checkItem {
	var vs []string
	for i, p := range c.plans {
		if p != nil && p.Version > 0 {
			vs = append(vs, fmt.Sprintf("%s: schema %d (%s)", filepath.Base(w.sources[i]), p.Version, merge.Release(p.Version)))
		}
	}
	text := "every node ran go-spacemesh 1.4 or newer (schema 5 or newer), the same version on both sides"
	if len(vs) < len(w.sources) {
		vs = append(vs, "not known until every folder can be read")
	}
	return checkItem{ok: len(vs) == len(w.sources), text: text, details: vs}
}

// checkBackupItem says where the backups go (none before a first merge that
// creates the target's database).
func checkBackupItem(w *wizard, c *wizCheck) checkItem {
	text := "backups will be made: before each merge the target's local.sql and identities/ are copied into " +
		filepath.Join(w.target, "backup-<time>") + "/"
	if len(c.plans) > 0 && c.plans[0] != nil && c.plans[0].CreateDB {
		text = "the target has no local.sql yet: the first merge creates it (nothing to back up); each later merge first copies the target's local.sql and identities/ into " +
			filepath.Join(w.target, "backup-<time>") + "/"
	}
	return checkItem{ok: true, text: text}
}

// green reports whether every item of the latest check is ticked.
func (s *checksStep) green(w *wizard) bool {
	if s.check == nil {
		return false
	}
	for _, it := range s.items(w, s.check) {
		if !it.ok {
			return false
		}
	}
	return true
}

func (s *checksStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	p.hints = flowHelp(hint("enter", "continue (when all ticked)"), hint("esc", "back"))
	t.add(fmt.Sprintf("Checked, not asked — again every second. Sources: %s. Target: %s.", strings.Join(w.sources, ", "), w.target), themes.ToneText, 1)
	t.blank()
	if s.check == nil {
		t.item("…", "checking…", themes.ToneMuted)
		return
	}
	for _, it := range s.items(w, s.check) {
		t.check(it.ok, it.text)
		for _, d := range it.details {
			tone := themes.ToneDanger
			if it.ok {
				tone = themes.ToneMuted
			}
			t.sub(d, tone)
		}
	}
	t.blank()
	if s.green(w) {
		t.item("→", "every check is ticked: press enter to continue", themes.ToneOK)
	} else {
		t.item("…", "waiting until every check is ticked (stop the nodes; the list updates by itself)", themes.ToneWarn)
	}
}
