package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/merge"
	"postdeck/model"
	"postdeck/themes"
)

// The merge flow (m): a form for the old node's data folder and the target
// (the config's data folder by default); the plan (keys, rows per table,
// problems — with problems there is no way on); a confirmation by typing
// the target folder's name; the merge with its steps as they finish; the
// summary with the backup's location, or the failure and the state the
// target was left in.

type mergeStage int

const (
	mergeForm mergeStage = iota
	mergePlanning
	mergePlanShown
	mergeConfirm
	mergeRunning
	mergeDone
	mergeFailed
)

// Button labels of the merge flow (the wizard shows two of them too).
const (
	btnPlanAgain = "Plan again"
	btnMerge     = "Merge…"
	btnRecover   = "Recover"
)

// mergeAct is what a button of the merge flow does.
type mergeAct int

const (
	mergeBack      mergeAct = iota // back to the form
	mergePlanAgain                 // plan the same folders again
	mergeGo                        // on to the typed confirmation
	mergeClose
	mergeRecover // finish or undo an interrupted merge
)

// planTimeout bounds one plan (it reads both databases and /proc).
const planTimeout = 2 * time.Minute

type mergeFlow struct {
	stage   mergeStage
	form    form
	refusal string
	plan    *merge.Plan
	btns    buttonRow[mergeAct]
	confirm confirmInput
	run     mergeRun
}

type mergePlanMsg struct {
	plan *merge.Plan
	err  error
}

// mergeRun is a merge running in the background: Execute's progress
// callback and its end come back as messages, one at a time.
type mergeRun struct {
	from, to string
	steps    []merge.Step
	sum      *merge.Summary
	err      error
	state    string // after a failure: what the target is like now
	journal  bool   // an unfinished merge is recorded in the target
	recover  string // what Recover said
}

// mergeRunMsg carries one message of a running merge and the channel the
// next one comes from.
type mergeRunMsg struct {
	msg tea.Msg
	ch  <-chan tea.Msg
}

type mergeStepMsg struct{ step merge.Step }

type mergeEndMsg struct {
	sum     *merge.Summary
	err     error
	journal bool // the merge left its journal: it was interrupted
}

type recoverMsg struct {
	text string
	err  error
}

// startMerge runs merge.Execute in a goroutine and returns the Cmd that
// delivers its first message. The merge runs to its end even if the flow
// is closed: it is never cut off half way by the UI.
func (m *Model) startMerge(plan *merge.Plan) tea.Cmd {
	ch := make(chan tea.Msg, 32)
	go func() {
		defer close(ch)
		sum, err := merge.Execute(context.Background(), plan, func(s merge.Step) { ch <- mergeStepMsg{s} })
		ch <- mergeEndMsg{sum: sum, err: err, journal: err != nil && merge.Interrupted(plan.To)}
	}()
	return m.nextMerge(ch)
}

func (m *Model) nextMerge(ch <-chan tea.Msg) tea.Cmd {
	return m.flowDo(func() tea.Msg {
		msg, ok := <-ch
		if !ok {
			return nil
		}
		return mergeRunMsg{msg, ch}
	})
}

// follow applies a message of the running merge; done is set at its end.
func (r *mergeRun) follow(msg tea.Msg) (done bool) {
	switch msg := msg.(type) {
	case mergeStepMsg:
		r.steps = append(r.steps, msg.step)
	case mergeEndMsg:
		r.sum, r.err = msg.sum, msg.err
		if r.err != nil {
			r.state, r.journal = targetState(r.to, r.err, msg.journal)
		}
		return true
	}
	return false
}

// targetState says in words what a failed merge left in the target; journal
// says it left its journal there (found in the Cmd, not here: no I/O in Update).
func targetState(to string, err error, journal bool) (string, bool) {
	if journal {
		return fmt.Sprintf("the merge was interrupted and recorded in %s: recover it (it finishes or undoes the merge) before anything else", filepath.Join(to, merge.JournalName)), true
	}
	switch {
	case errors.Is(err, merge.ErrRefused):
		return "the target is intact: nothing was changed", false
	case errors.Is(err, merge.ErrUnverified):
		return "the merge ran but could not be verified: check the target against the backup named above before starting the node", false
	}
	return "the target is intact: its database and identities/ are as they were before this merge", false
}

// compact is a finished merge in a few lines (the wizard lists several).
func (r *mergeRun) compact(t *text) {
	if r.sum == nil {
		r.lines(t)
		return
	}
	var tables []string
	for _, tb := range r.sum.Tables {
		tables = append(tables, fmt.Sprintf("%s +%d", tb.Name, tb.Copy))
	}
	t.item("✓", fmt.Sprintf("merged in %s: %d key(s) (%s); rows %s; each checked", r.sum.Elapsed.Round(time.Millisecond),
		len(r.sum.Keys), keyNames(r.sum.Keys), strings.Join(tables, ", ")), themes.ToneOK)
	t.item("·", "backup of the target before it: "+orNone(r.sum.Backup), themes.ToneMuted)
}

func keyNames(ks []merge.KeyCopy) string {
	var names []string
	for _, k := range ks {
		names = append(names, k.Name)
	}
	return strings.Join(names, ", ")
}

// lines draws the steps done so far, then the end.
func (r *mergeRun) lines(t *text) {
	for _, s := range r.steps {
		t.item("✓", fmt.Sprintf("[%d/%d] %s: %s", s.N, s.Of, s.Name, s.Detail), themes.ToneOK)
	}
	switch {
	case r.sum != nil:
		t.blank()
		t.block(r.sum.String(), themes.ToneText, 1)
	case r.err != nil:
		t.item("✗", "merge failed: "+r.err.Error(), themes.ToneDanger)
		tone := themes.ToneOK
		if r.journal {
			tone = themes.ToneWarn
		}
		t.item("·", r.state, tone)
		if r.recover != "" {
			t.item("·", r.recover, themes.ToneAccent)
		}
	default:
		t.item("…", "merging…", themes.ToneAccent)
	}
}

// openMergeForm is the m key.
func (m *Model) openMergeForm() tea.Cmd {
	if m.cfg == nil {
		m.setStatus("merging nodes "+needConfig, themes.ToneWarn)
		return nil
	}
	f := &mergeFlow{form: form{fields: []field{
		{label: "From (old node's data folder)", path: true, in: newPathInput(&m.theme, "", "holds local.sql and identities/ (tab completes)")},
		{label: "To (this node's data folder)", path: true, in: newPathInput(&m.theme, m.cfg.Node.DataFolder, "")},
	}}}
	m.openFlow(f)
	return f.form.focusOn(0)
}

// planMerge plans a merge in a Cmd, probing the configured node and, with
// several nodes, comparing the keys with every node's (withFleet).
func (m *Model) planMerge(from, to string) tea.Cmd {
	o, cfg := merge.Options{From: from, To: to, NodeAddrs: nodeAddrsOf(m.cfg, to)}, m.cfg
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		p, err := merge.NewPlan(ctx, withFleet(ctx, cfg, o))
		return mergePlanMsg{p, err}
	})
}

// asking: the plan and Recover ask with buttons that change something
// (see overlay.asking); a Close alone asks nothing.
func (f *mergeFlow) asking() question {
	switch {
	case f.stage == mergePlanShown:
		return "plan"
	case f.stage == mergeFailed && f.run.journal: // Recover is shown
		return "recover"
	}
	return ""
}

func (f *mergeFlow) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply) {
	switch f.stage {
	case mergeForm:
		switch k.String() {
		case "esc":
			return nil, reply{close: true}
		case "enter":
			from, to := resolvePath(f.form.fields[0].in.value()), resolvePath(f.form.fields[1].in.value())
			if from == "" || to == "" {
				f.refusal = "give both folders: the old node's data folder and the one to merge it into"
				return nil, reply{}
			}
			f.stage, f.refusal = mergePlanning, ""
			return m.planMerge(from, to), reply{}
		}
		f.refusal = ""
		return f.form.key(k, m.flowCmd), reply{}
	case mergePlanShown:
		act, pressed := f.btns.key(k, &m.keys)
		if k.String() == "esc" {
			act, pressed = mergeBack, true
		}
		switch {
		case !pressed:
		case act == mergeBack:
			f.stage = mergeForm
			return f.form.focusOn(f.form.focus), reply{}
		case act == mergePlanAgain:
			f.stage = mergePlanning
			return m.planMerge(f.plan.From, f.plan.To), reply{}
		case act == mergeGo:
			f.stage = mergeConfirm
			var cmd tea.Cmd
			f.confirm, cmd = newConfirm(&m.theme, filepath.Base(f.plan.To))
			return cmd, reply{}
		}
	case mergeConfirm:
		if k.String() == "esc" { // back to the buttons: a new grace (see asking)
			f.stage = mergePlanShown
			return nil, reply{}
		}
		ok, cmd := f.confirm.key(k)
		if !ok {
			return cmd, reply{}
		}
		f.stage = mergeRunning
		f.run = mergeRun{from: f.plan.From, to: f.plan.To}
		return m.startMerge(f.plan), reply{}
	case mergeDone, mergeFailed:
		act, pressed := f.btns.key(k, &m.keys)
		switch {
		case k.String() == "esc", pressed && act == mergeClose:
			return nil, reply{close: true}
		case pressed && act == mergeRecover:
			to := f.run.to
			f.btns.set(button[mergeAct]{label: btnClose, act: mergeClose, on: true})
			return m.flowDo(func() tea.Msg {
				s, err := merge.Recover(to)
				return recoverMsg{s, err}
			}), reply{}
		}
	}
	return nil, reply{}
}

func (f *mergeFlow) result(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case completeMsg:
		f.form.apply(msg)
	case mergePlanMsg:
		if msg.err != nil {
			f.stage, f.refusal = mergeForm, "could not plan: "+msg.err.Error()
			return f.form.focusOn(f.form.focus), false
		}
		f.plan, f.stage = msg.plan, mergePlanShown
		f.btns = newButtonRow(button[mergeAct]{label: btnCancel, act: mergeBack, on: true},
			button[mergeAct]{label: btnPlanAgain, act: mergePlanAgain, on: true},
			button[mergeAct]{label: btnMerge, act: mergeGo, on: msg.plan.OK(), why: "refused: see the problems"})
	case mergeRunMsg:
		if !f.run.follow(msg.msg) {
			return m.nextMerge(msg.ch), false
		}
		f.stage = mergeDone
		bs := []button[mergeAct]{{label: btnClose, act: mergeClose, on: true}}
		if f.run.err != nil {
			f.stage = mergeFailed
			if f.run.journal {
				bs = append(bs, button[mergeAct]{label: btnRecover, act: mergeRecover, on: true})
			}
		}
		f.btns = newButtonRow(bs...)
	case recoverMsg:
		f.run.recover = msg.text
		if msg.err != nil {
			f.run.recover = "recovery failed: " + msg.err.Error()
		} else {
			f.run.journal = false
			f.run.state = "recovered"
		}
	}
	return nil, false
}

func (f *mergeFlow) snapshot(*Model, *model.Snapshot) {}

func (f *mergeFlow) paste(m *Model, p tea.PasteMsg) tea.Cmd {
	switch f.stage {
	case mergeForm:
		return f.form.paste(p)
	case mergeConfirm:
		return f.confirm.paste(p)
	}
	return nil
}

// interrupt: a running merge is not abandoned on the first ctrl+c.
func (f *mergeFlow) interrupt(m *Model) (tea.Cmd, reply) {
	if f.stage != mergeRunning || m.quitArmed {
		return nil, reply{close: true}
	}
	m.quitArmed = true
	m.setStatus("a merge is running: wait for it to end (ctrl+c again quits anyway; the merge's journal lets `postdeck merge --recover` finish or undo it)", themes.ToneWarn)
	return nil, reply{}
}

// planText renders a merge plan: its notes muted, the refusal and its
// problems in the danger tone. Plan.String ends with the notes, one line
// each, then the refusal's line and one line a problem (or one line about
// the backup): the tones follow from those counts, not from the words.
func planText(t *text, p *merge.Plan) {
	lines := strings.Split(strings.TrimRight(p.String(), "\n"), "\n")
	tail := 1 // the backup line
	if len(p.Problems) > 0 {
		tail = 1 + len(p.Problems)
	}
	refused := len(lines) - tail
	notes := refused - len(p.Notes)
	for i, l := range lines {
		tone := themes.ToneText
		switch {
		case len(p.Problems) > 0 && i >= refused:
			tone = themes.ToneDanger
		case i >= notes && i < refused:
			tone = themes.ToneMuted
		}
		t.block(l, tone, 1)
	}
}

func (f *mergeFlow) page(m *Model, width int) page {
	th := &m.theme
	t := newText(width, th)
	p := page{title: th.Styles.Section.Render(" Merge another node's identities into a node"), cursorLine: -1}
	switch f.stage {
	case mergeForm, mergePlanning:
		p.key = "form"
		t.add("Copies the old node's keys and its identities' rows (post, challenge, poet_registration, nipost) into the target. "+
			"Both nodes must be stopped. The next screen shows the plan; nothing changes before you confirm.", themes.ToneText, 1)
		t.blank()
		p.fixed, p.cursorLine, p.cursorX = f.form.lines(width, th)
		if f.refusal != "" {
			t.item("✗", f.refusal, themes.ToneDanger)
		}
		if f.stage == mergePlanning {
			t.item("…", "planning: reading both folders…", themes.ToneMuted)
			p.cursorLine = -1
		}
		p.hints = flowHelp(hint("tab", "complete folder"), hint("↑/↓", "field"), hint("enter", "plan"), hint("esc", "cancel"))
	case mergePlanShown, mergeConfirm:
		p.key = "plan"
		planText(t, f.plan)
		if f.stage == mergeConfirm {
			p.fixed, p.cursorLine, p.cursorX = f.confirm.lines("merge into "+f.plan.To, width, th)
			p.hints = flowHelp(hint("enter", "merge"), hint("esc", "back"))
		} else {
			p.fixed = f.btns.pageLines(width-2, &th.Styles)
			p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "back to the form"), hint("pgup/pgdn", "scroll"))
		}
	default:
		p.key, p.follow = "run", true
		t.add(fmt.Sprintf("Merging %s into %s", f.run.from, f.run.to), themes.ToneText, 1)
		t.blank()
		f.run.lines(t)
		if f.stage != mergeRunning {
			p.fixed = f.btns.pageLines(width-2, &th.Styles)
			p.hints = flowHelp(m.keys.Press, hint("esc", "close"), hint("pgup/pgdn", "scroll"))
		}
	}
	p.body = t.out
	return p
}
