package ui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"

	"postdeck/merge"
	"postdeck/model"
	"postdeck/themes"
)

// The migration wizard (M, or `postdeck migrate`): the guide's steps for
// moving old nodes' identities onto one node, in order, one file each:
//
//  1. pick the old nodes' data folders (sources) and the target
//     (wizard_folders.go);
//  2. a checklist re-evaluated every second: every node stopped (checked,
//     not asked), schema 5 or newer, backups possible (wizard_checks.go);
//  3. rename local.key to a descriptive name (atomically, never replacing;
//     wizard_localkey.go);
//  4. the merge plan of each source (wizard_plans.go);
//  5. confirm by typing the target folder's name (wizard_confirm.go);
//  6. the merges, one after another; a failure stops here (wizard_merge.go);
//  7. a [[service]] per merged identity, its PoST data checked against the
//     key (wizard_services.go);
//  8. after the node's restart: every identity in SmesherIDs and PostStates,
//     and the coinbase and smeshing-start reminders (wizard_verify.go).
//
// esc goes back while nothing was changed; leaving later says what was and
// was not done (wizard_leave.go). This file holds what the steps share and
// the navigation: which step follows which, and how the wizard is left.

// wizStep is one step of the wizard. Its key handler says where to go (a
// nav); the wizard moves there.
type wizStep interface {
	name() string
	// enter starts the step each time it is shown, and what it needs.
	enter(w *wizard, m *Model) tea.Cmd
	key(w *wizard, m *Model, k tea.KeyPressMsg) (tea.Cmd, nav)
	// result sees the result of every Cmd of the wizard: a step acts on its
	// own kinds of message (whichever step shows), nil for the others.
	result(w *wizard, m *Model, msg tea.Msg) tea.Cmd
	paste(w *wizard, m *Model, p tea.PasteMsg) tea.Cmd
	// view writes the step's body into t and sets p's fixed lines, cursor
	// and hints.
	view(w *wizard, m *Model, t *text, width int, p *page)
}

// nav is where a key sends the wizard.
type nav int

const (
	navStay     nav = iota
	navNext         // the following step
	navBack         // the step before
	navAgain        // this step again, from its start
	navLeave        // leave: at once while nothing was changed, else asking first
	navAskLeave     // ask before leaving, showing what was and was not done
	navFinish       // leave now
)

// The steps by number, for the steps that name another.
const (
	stepFolders = iota + 1
	stepChecks
	stepLocalKey
	stepPlans
	stepConfirm
	stepMerge
	stepServices
	stepVerify
	wizardSteps = stepVerify
)

// wizAct is what a button of the wizard does.
type wizAct int

const (
	wizBack wizAct = iota
	wizPlanAgain
	wizContinue
	wizLeave // ask before leaving (the merge step's, after a failure)
	wizRecover
	wizFinish
	wizStay // the leave question's
	wizGo   // the leave question's: leave now
)

// wizButton is a button of the wizard that is on.
func wizButton(label string, act wizAct) button[wizAct] {
	return button[wizAct]{label: label, act: act, on: true}
}

// Button labels of the wizard.
const (
	btnBack     = "Back"
	btnContinue = "Continue"
	btnStay     = "Stay"
	btnLeave    = "Leave the wizard"
	btnFinish   = "Finish"
)

type wizard struct {
	step  int
	steps []wizStep // in order: steps[0] is step 1
	// form is step 1's, which Init focuses when `postdeck migrate` opens
	// the wizard at start.
	form *form

	sources []string // step 1's folders
	target  string
	cfgPath string // the config file services are added to

	localDirs []string     // folders with local.key: from the last check or rename
	batch     *merge.Batch // step 4's plans, confirmed in step 5
	runs      []mergeRun   // step 6: one per source started
	running   bool
	ids       []wizID  // the merged identities (steps 7 and 8)
	done      []string // what the wizard changed, in order

	leaving bool // the leave question is on the stack (leaveDialog)
}

// wizID is an identity merged by the wizard.
type wizID struct {
	key    merge.KeyCopy
	source string
	in     pathInput
	state  string // what became of its service: "" still to do
	tone   themes.Tone
	err    string // why the folder given was not taken
	// serviced: a [[service]] was added for it, or was configured already.
	serviced bool
	// After the restart: whether the node reports it, and what was seen.
	confirmed bool
	seen      string
}

// openWizard is the M key (and `postdeck migrate`).
func (m *Model) openWizard() tea.Cmd {
	if m.cfg == nil {
		m.setStatus("the migration wizard "+needConfig, themes.ToneWarn)
		return nil
	}
	folders := newFoldersStep(m)
	w := &wizard{cfgPath: m.cfg.Path, form: &folders.form, steps: []wizStep{
		folders, &checksStep{}, &localKeyStep{}, &plansStep{},
		&confirmStep{}, &mergeStep{}, &servicesStep{}, &verifyStep{},
	}}
	m.openFlow(w)
	return w.toStep(m, stepFolders)
}

func (w *wizard) cur() wizStep { return w.steps[w.step-1] }

// toStep moves to a step and starts what it needs.
func (w *wizard) toStep(m *Model, step int) tea.Cmd {
	w.step = step
	m.status = status{}
	return w.cur().enter(w, m)
}

// navigate goes where a step's key said; the reply closes the wizard or
// puts the leave question over it.
func (w *wizard) navigate(m *Model, n nav) (tea.Cmd, reply) {
	switch n {
	case navNext:
		return w.toStep(m, w.step+1), reply{}
	case navBack:
		return w.toStep(m, w.step-1), reply{}
	case navAgain:
		return w.toStep(m, w.step), reply{}
	case navLeave:
		if len(w.done) == 0 {
			return w.leave(m), reply{close: true}
		}
		return nil, reply{push: w.openLeave()}
	case navAskLeave:
		return nil, reply{push: w.openLeave()}
	case navFinish:
		return w.leave(m), reply{close: true}
	}
	return nil, reply{}
}

func (w *wizard) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply) {
	cmd, n := w.cur().key(w, m, k)
	if n == navStay {
		return cmd, reply{}
	}
	return w.navigate(m, n)
}

// result hands msg to the steps; the leave question's Leave ends the
// wizard.
func (w *wizard) result(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	if _, ok := msg.(wizLeaveMsg); ok {
		return w.leave(m), true
	}
	for _, s := range w.steps {
		if cmd := s.result(w, m, msg); cmd != nil {
			return cmd, false
		}
	}
	return nil, false
}

// asker is a step that asks with buttons (see overlay.asking); the others
// ask nothing while the user types or waits.
type asker interface{ asking(w *wizard) question }

func (w *wizard) asking() question {
	if a, ok := w.cur().(asker); ok {
		return a.asking(w)
	}
	return ""
}

func (w *wizard) paste(m *Model, p tea.PasteMsg) tea.Cmd { return w.cur().paste(w, m, p) }

func (w *wizard) snapshot(m *Model, s *model.Snapshot) {
	if w.step == stepVerify {
		w.steps[stepVerify-1].(*verifyStep).snapshot(w, s)
	}
}

func (w *wizard) page(m *Model, width int) page {
	p, t := w.frame(m, width)
	w.cur().view(w, m, t, width, &p)
	p.body = t.out
	return p
}

// frame is a page of the wizard before its step fills it: its title and
// key (the leave question's page is one too).
func (w *wizard) frame(m *Model, width int) (page, *text) {
	st := &m.theme.Styles
	// The merges' progress grows at the end: keep it in view.
	p := page{key: fmt.Sprint(w.step), cursorLine: -1, follow: w.step == stepMerge,
		title: st.Section.Render(fmt.Sprintf(" Migrate nodes · step %d of %d: %s", w.step, wizardSteps, w.cur().name()))}
	return p, newText(width, &m.theme)
}

// noPaste is embedded by a step with no input to paste into.
type noPaste struct{}

func (noPaste) paste(*wizard, *Model, tea.PasteMsg) tea.Cmd { return nil }

// noResults is embedded by a step that starts no Cmds.
type noResults struct{}

func (noResults) result(*wizard, *Model, tea.Msg) tea.Cmd { return nil }
