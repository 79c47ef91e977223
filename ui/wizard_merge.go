package ui

// Step 6 of the migration wizard: the merges, one after another, each
// source planned again just before it runs; the first failure stops here.

import (
	"context"
	"errors"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"postdeck/merge"
	"postdeck/themes"
)

type mergeStep struct {
	noPaste
	failed bool
	btns   buttonRow[wizAct]
}

type wizReplanMsg struct {
	i    int
	plan *merge.Plan
	err  error
}

func (s *mergeStep) name() string { return "merge" }

func (s *mergeStep) enter(w *wizard, m *Model) tea.Cmd {
	w.runs, s.failed = nil, false
	return s.next(w, m)
}

// next plans the next source again (the target has changed since step 4
// if a merge ran) and runs it, or ends the step.
func (s *mergeStep) next(w *wizard, m *Model) tea.Cmd {
	i := len(w.runs)
	if i == len(w.sources) {
		w.running = false
		s.btns = newButtonRow(wizButton(btnContinue, wizContinue))
		return nil
	}
	w.running = true
	w.runs = append(w.runs, mergeRun{from: w.sources[i], to: w.target})
	batch := w.batch
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		p, err := batch.Replan(ctx, i)
		return wizReplanMsg{i: i, plan: p, err: err}
	})
}

// stop ends the step at a failure.
func (s *mergeStep) stop(w *wizard, m *Model) {
	w.running, s.failed = false, true
	bs := []button[wizAct]{wizButton(btnLeave, wizLeave)}
	if r := w.runs[len(w.runs)-1]; r.journal {
		bs = append(bs, wizButton(btnRecover, wizRecover))
	}
	s.btns = newButtonRow(bs...)
}

// asking: nothing while a merge runs; the buttons after the last merge or
// at a failure.
func (s *mergeStep) asking(w *wizard) question {
	switch {
	case w.running:
		return ""
	case s.failed:
		return "failed"
	}
	return "merged"
}

func (s *mergeStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	if w.running {
		if k.String() == "esc" {
			m.setStatus("a merge is running: it cannot be stopped half way; wait for it to end", themes.ToneWarn)
		}
		return nil, navStay
	}
	if k.String() == "esc" {
		return nil, navAskLeave
	}
	act, pressed := s.btns.key(k, &m.keys)
	switch {
	case !pressed:
	case act == wizContinue:
		return nil, navNext
	case act == wizLeave:
		return nil, navAskLeave
	case act == wizRecover:
		to := w.runs[len(w.runs)-1].to
		s.btns.set(wizButton(btnLeave, wizLeave))
		return m.flowDo(func() tea.Msg {
			text, err := merge.Recover(to)
			return recoverMsg{text, err}
		}), navStay
	}
	return nil, navStay
}

func (s *mergeStep) result(w *wizard, m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case wizReplanMsg:
		return s.replanned(w, m, msg)
	case mergeRunMsg:
		r := &w.runs[len(w.runs)-1]
		if !r.follow(msg.msg) {
			return m.nextMerge(msg.ch)
		}
		if r.err != nil {
			s.stop(w, m)
			return nil
		}
		w.done = append(w.done, fmt.Sprintf("merged %s into %s: %d key(s), %d row(s); backup of the target before it: %s",
			r.from, r.to, len(r.sum.Keys), rowsOf(r.sum), orNone(r.sum.Backup)))
		return s.next(w, m)
	case recoverMsg:
		r := &w.runs[len(w.runs)-1]
		if msg.err != nil {
			r.recover = "recovery failed: " + msg.err.Error()
		} else {
			r.recover, r.journal, r.state = msg.text, false, "recovered: "+msg.text
			w.done = append(w.done, msg.text)
		}
	}
	return nil
}

// replanned starts the merge of a source planned again, or stops at a
// refusal: then nothing was changed by it.
func (s *mergeStep) replanned(w *wizard, m *Model, msg wizReplanMsg) tea.Cmd {
	r := &w.runs[msg.i]
	if msg.err == nil {
		return m.startMerge(msg.plan)
	}
	r.err = msg.err
	if changed := (*merge.ChangedError)(nil); errors.As(msg.err, &changed) {
		r.err = fmt.Errorf("%w; leave the wizard and start it again to see the new plan", msg.err)
	}
	// Refused before it ran: a journal there is an earlier merge's, which
	// the plan reports as unfinished.
	r.state, r.journal = targetState(r.to, r.err, msg.plan != nil && msg.plan.Has(merge.KindUnfinished))
	s.stop(w, m)
	return nil
}

func rowsOf(s *merge.Summary) int64 {
	var n int64
	for _, t := range s.Tables {
		n += t.Copy
	}
	return n
}

func orNone(s string) string {
	if s == "" {
		return "none (the target had no local.sql yet)"
	}
	return s
}

func (s *mergeStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	for i, r := range w.runs {
		t.section(fmt.Sprintf(" %d/%d  %s", i+1, len(w.sources), r.from))
		r.compact(t)
		t.blank()
	}
	switch {
	case s.failed:
		t.item("✗", "the wizard stopped at this failure"+w.batch.StoppedAt(len(w.runs)-1), themes.ToneDanger)
	case !w.running:
		t.item("✓", fmt.Sprintf("all %d merge(s) done; next: a [[service]] for each identity", len(w.runs)), themes.ToneOK)
	}
	if !w.running {
		p.fixed = s.btns.pageLines(width-2, &m.theme.Styles)
		p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "leave"), hint("pgup/pgdn", "scroll"))
	}
}
