package ui

// Step 4 of the migration wizard: the merge plan of each source, and the
// problems between the sources (merge.Batch).

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/merge"
	"postdeck/themes"
)

type plansStep struct {
	noPaste
	planning bool
	planErr  string
	btns     buttonRow[wizAct]
}

type wizPlansMsg struct {
	batch *merge.Batch
	err   error
}

func (s *plansStep) name() string { return "plans" }

func (s *plansStep) enter(w *wizard, m *Model) tea.Cmd {
	w.batch, s.planErr, s.planning = nil, "", true
	s.btns = newButtonRow(wizButton(btnBack, wizBack))
	sources, target, addrs, cfg := w.sources, w.target, config.NodeAddrsOf(m.cfg, w.target), m.cfg
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		// With several nodes, every key is compared with what each node
		// holds (withFleet): a refusal is a problem like the others, and
		// its override is the command line's.
		b, err := merge.PlanBatch(ctx, sources, target, withFleet(ctx, cfg, merge.Options{NodeAddrs: addrs, To: target}))
		return wizPlansMsg{batch: b, err: err}
	})
}

func (s *plansStep) key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav) {
	act, pressed := s.btns.key(k, &m.keys)
	switch {
	case k.String() == "esc", pressed && act == wizBack:
		return nil, navBack
	case pressed && act == wizPlanAgain:
		return nil, navAgain
	case pressed && act == wizContinue:
		return nil, navNext
	}
	return nil, navStay
}

func (s *plansStep) result(w *wizard, m *Model, msg tea.Msg) tea.Cmd {
	r, ok := msg.(wizPlansMsg)
	if !ok || w.step != stepPlans {
		return nil
	}
	s.planning = false
	if r.err != nil {
		s.planErr = r.err.Error()
	} else {
		w.batch = r.batch
	}
	s.btns = newButtonRow(wizButton(btnBack, wizBack), wizButton(btnPlanAgain, wizPlanAgain),
		button[wizAct]{label: btnContinue, act: wizContinue, on: s.ok(w), why: "refused: see the problems"})
	return nil
}

// asking: the buttons change while the plans are made, and ask anew when
// they are shown.
func (s *plansStep) asking(*wizard) question {
	if s.planning {
		return "planning"
	}
	return "plans"
}

func (s *plansStep) ok(w *wizard) bool {
	return !s.planning && s.planErr == "" && w.batch != nil && w.batch.OK()
}

func (s *plansStep) view(w *wizard, m *Model, t *text, width int, p *page) {
	s.body(w, t)
	p.fixed = s.btns.pageLines(width-2, &m.theme.Styles)
	p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "back"), hint("pgup/pgdn", "scroll"))
}

func (s *plansStep) body(w *wizard, t *text) {
	switch {
	case s.planning:
		t.item("…", "planning: reading every folder…", themes.ToneMuted)
		return
	case s.planErr != "":
		t.item("✗", s.planErr, themes.ToneDanger)
		return
	}
	plans := w.batch.Plans
	for i, p := range plans {
		t.section(fmt.Sprintf(" %d/%d  %s", i+1, len(plans), p.From))
		planText(t, p)
		t.blank()
	}
	if len(plans) > 1 {
		t.add("The merges run one after another; the row counts of the later ones are planned again just before each runs.", themes.ToneMuted, 1)
	}
	for _, c := range w.batch.Cross {
		t.item("✗", c.Message, themes.ToneDanger)
	}
	if !s.ok(w) {
		t.item("✗", "refused: fix the problems above (esc goes back to the rename step), then Plan again", themes.ToneDanger)
	}
}
