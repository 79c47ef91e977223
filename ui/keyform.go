package ui

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"strings"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/model"
	"postdeck/themes"
)

// The add-key flow (i): a form for the PoST data directory, the key's name
// and whether to move identity.key to a backup; then the plan in full with
// Cancel focused; the key written in a Cmd; an offer to add the matching
// [[service]] (its snippet shown first); then the restart reminder, until a
// new snapshot shows the node reporting the key.

type keyStage int

const (
	keyForm keyStage = iota
	keyPlanning
	keyPlanShown
	keyApplying
	keyServiceOffer
	keyServiceAdding
	keyWaiting
)

// Button labels of the add-key flow.
const (
	btnCancel     = "Cancel"
	btnAddKey     = "Add key"
	btnSkip       = "Skip"
	btnAddService = "Add service"
	btnClose      = "Close"
)

// keyAct is what a button of the add-key flow does.
type keyAct int

const (
	keyBack keyAct = iota // back to the form
	keyAdd
	keySkip // no service for the key
	keyAddService
	keyClose
)

type keyFlow struct {
	stage   keyStage
	form    form
	refusal string // why the last plan was refused
	plan    *identities.AddKeyPlan
	notes   []string // the fleet's nodes compared in part (keyGuard)
	btns    buttonRow[keyAct]
	res     *identities.AddKeyResult

	svc     *backend.ServiceProposal // the service offered, nil for none
	svcNote string                   // why none is offered, or what became of it
	svcTone themes.Tone

	seen       bool // a snapshot has been checked since the key was added
	confirmed  bool
	confirmMsg string
}

type keyPlanMsg struct {
	plan  *identities.AddKeyPlan
	notes []string
	err   error
}

type keyApplyMsg struct {
	res *identities.AddKeyResult
	err error
}

type keySvcPlanMsg struct {
	svc  *backend.ServiceProposal
	note string
}

type keySvcMsg struct{ err error }

// keyWatch is a key added in this session that the node has not reported
// yet: every snapshot checks it, even after its flow is closed.
type keyWatch struct {
	name   string
	public []byte
}

// openKeyForm is the k key.
func (m *Model) openKeyForm() tea.Cmd {
	if m.cfg == nil {
		m.setStatus("adding a key "+needConfig, themes.ToneWarn)
		return nil
	}
	if m.cfg.Node.DataFolder == "" {
		m.setStatus("adding a key needs the node's data folder: set data_folder in [node] of "+m.cfg.Path, themes.ToneWarn)
		return nil
	}
	f := &keyFlow{form: form{fields: []field{
		{label: "PoST data directory", path: true, in: newPathInput(&m.theme, "", "the folder postcli initialized (tab completes)")},
		{label: "Key name", in: newPathInput(&m.theme, "", "default: the directory's name + .key")},
		{label: "Move identity.key", toggle: true, hint: "to identity.key.bak-<time> afterwards (space toggles)"},
	}}}
	m.openFlow(f)
	return f.form.focusOn(0)
}

func (f *keyFlow) options(m *Model) identities.AddKeyOptions {
	return identities.AddKeyOptions{
		DataFolder: m.cfg.Node.DataFolder,
		PostDir:    resolvePath(f.form.fields[0].in.value()),
		Name:       strings.TrimSpace(f.form.fields[1].in.value()),
		Move:       f.form.fields[2].on,
	}
}

// asking: the plan and the service offered ask with buttons that change
// something (see overlay.asking); the reminder's Close asks nothing.
func (f *keyFlow) asking() question {
	switch f.stage {
	case keyPlanShown:
		return "plan"
	case keyServiceOffer:
		return "offer"
	}
	return ""
}

func (f *keyFlow) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, reply) {
	var act keyAct
	pressed := false
	if f.stage == keyPlanShown || f.stage == keyServiceOffer || f.stage == keyWaiting { // buttons shown
		act, pressed = f.btns.key(k, &m.keys)
	}
	esc := k.String() == "esc"
	switch f.stage {
	case keyForm:
		switch k.String() {
		case "esc":
			return nil, reply{close: true}
		case "enter":
			o, cfg := f.options(m), m.cfg
			f.stage, f.refusal = keyPlanning, ""
			return m.flowDo(func() tea.Msg {
				p, err := identities.PlanAddKey(o)
				if err != nil {
					return keyPlanMsg{err: err}
				}
				ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
				defer cancel()
				notes, err := keyGuard(ctx, cfg, p)
				return keyPlanMsg{p, notes, err}
			}), reply{}
		}
		f.refusal = ""
		return f.form.key(k, m.flowCmd), reply{}
	case keyPlanShown:
		switch {
		case esc, pressed && act == keyBack:
			f.stage = keyForm
			return f.form.focusOn(f.form.focus), reply{}
		case pressed && act == keyAdd:
			f.stage = keyApplying
			plan := f.plan
			return m.flowDo(func() tea.Msg {
				res, err := identities.ApplyAddKey(plan)
				return keyApplyMsg{res, err}
			}), reply{}
		}
	case keyServiceOffer:
		switch {
		case esc:
			f.wait(m, "service not added")
		case pressed && act == keySkip:
			f.wait(m, "service not added: paste the block above into "+m.cfg.Path+" when you want it")
		case pressed && act == keyAddService:
			f.stage = keyServiceAdding
			path, p := m.cfg.Path, *f.svc
			return m.flowDo(func() tea.Msg { return keySvcMsg{config.AppendService(path, p.Service, p.Launch)} }), reply{}
		}
	case keyWaiting:
		if esc || pressed && act == keyClose {
			return nil, reply{close: true}
		}
	}
	return nil, reply{}
}

// wait moves on to the restart reminder and starts watching for the key.
func (f *keyFlow) wait(m *Model, svcNote string) {
	if svcNote != "" {
		f.svcNote, f.svcTone = svcNote, themes.ToneMuted
	}
	f.stage = keyWaiting
	f.btns = newButtonRow(button[keyAct]{label: btnClose, act: keyClose, on: true})
	m.watches = append(m.watches, keyWatch{name: filepath.Base(f.res.Path), public: f.res.Public})
}

func (f *keyFlow) result(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case completeMsg:
		f.form.apply(msg)
	case keyPlanMsg:
		if msg.err != nil {
			f.stage, f.refusal = keyForm, msg.err.Error()
			return f.form.focusOn(f.form.focus), false
		}
		f.plan, f.notes, f.stage = msg.plan, msg.notes, keyPlanShown
		f.btns = newButtonRow(button[keyAct]{label: btnCancel, act: keyBack, on: true}, button[keyAct]{label: btnAddKey, act: keyAdd, on: true})
	case keyApplyMsg:
		if msg.err != nil {
			f.stage, f.refusal = keyForm, msg.err.Error()
			return f.form.focusOn(f.form.focus), false
		}
		f.res, f.stage = msg.res, keyServiceAdding
		cfg, plan := m.cfg, f.plan
		return m.flowDo(func() tea.Msg { return offerService(cfg, plan) }), false
	case keySvcPlanMsg:
		if msg.svc == nil {
			f.wait(m, msg.note)
			return nil, false
		}
		f.svc, f.stage = msg.svc, keyServiceOffer
		f.btns = newButtonRow(button[keyAct]{label: btnSkip, act: keySkip, on: true}, button[keyAct]{label: btnAddService, act: keyAddService, on: true})
	case keySvcMsg:
		if msg.err != nil {
			f.wait(m, "")
			f.svcNote, f.svcTone = "the key is added, but the service is not: "+msg.err.Error(), themes.ToneDanger
			return nil, false
		}
		f.wait(m, "")
		f.svcNote = fmt.Sprintf("added [[service]] %q (dir %s, operator %s) to %s", f.svc.Service.Name, f.svc.Service.Dir, f.svc.Service.Operator, m.cfg.Path)
		f.svcTone = themes.ToneOK
	}
	return nil, false
}

// offerService works out the [[service]] for the key just added, or says
// why there is none to offer. It reads the config file again: a service
// added since postdeck started counts.
func offerService(cfg *config.Config, plan *identities.AddKeyPlan) keySvcPlanMsg {
	if cfg.Path == "" {
		return keySvcPlanMsg{note: "no config file to add a [[service]] to"}
	}
	fresh, err := config.Load(cfg.Path)
	if err != nil {
		return keySvcPlanMsg{note: "no [[service]] offered: the config does not load now: " + firstLine(err.Error())}
	}
	p, err := backend.ProposeService(fresh, backend.ServiceRequest{Key: plan.Options.Name, Public: plan.Public, Dir: plan.Options.PostDir})
	switch {
	case err != nil:
		return keySvcPlanMsg{note: "no [[service]] offered: " + err.Error()}
	case p.Existing != nil:
		return keySvcPlanMsg{note: p.Note()}
	}
	return keySvcPlanMsg{svc: p}
}

func (f *keyFlow) snapshot(m *Model, s *model.Snapshot) {
	if f.stage == keyWaiting && !f.confirmed {
		f.seen = true
		f.confirmed, f.confirmMsg = backend.ConfirmLoaded(s.Node, f.res.Public)
	}
}

// checkWatches confirms keys added in this session against a new snapshot.
func (m *Model) checkWatches(s *model.Snapshot) {
	kept := m.watches[:0]
	for _, w := range m.watches {
		if ok, _ := backend.ConfirmLoaded(s.Node, w.public); ok {
			if _, open := m.flow.(*keyFlow); !open {
				m.setStatus("✓ the node now reports "+w.name, themes.ToneOK)
			}
			continue
		}
		kept = append(kept, w)
	}
	m.watches = kept
}

func (f *keyFlow) paste(m *Model, p tea.PasteMsg) tea.Cmd {
	if f.stage == keyForm {
		return f.form.paste(p)
	}
	return nil
}

func (f *keyFlow) interrupt(m *Model) (tea.Cmd, reply) { return nil, reply{close: true} }

func (f *keyFlow) page(m *Model, width int) page {
	th := &m.theme
	t := newText(width, th)
	p := page{title: th.Styles.Section.Render(" Add an identity key"), cursorLine: -1}
	switch f.stage {
	case keyForm, keyPlanning:
		p.key = "form"
		t.add("Copies a PoST data directory's identity.key (written by postcli) into "+
			filepath.Join(m.cfg.Node.DataFolder, "identities")+", after checking it against the directory's metadata. The next screen shows what will happen; nothing changes before you confirm.", themes.ToneText, 1)
		t.blank()
		lines, cl, cx := f.form.lines(width, th)
		p.fixed = lines
		p.cursorLine, p.cursorX = cl, cx
		if f.refusal != "" {
			t.item("✗", "not added: "+f.refusal, themes.ToneDanger)
		}
		if f.stage == keyPlanning {
			t.item("…", "checking…", themes.ToneMuted)
			p.cursorLine = -1
		}
		p.hints = flowHelp(hint("tab", "complete folder"), hint("↑/↓", "field"), hint("space", "toggle"), hint("enter", "show the plan"), hint("esc", "cancel"))
	case keyPlanShown, keyApplying:
		p.key = "plan"
		t.add("This is what will happen:", themes.ToneText, 1)
		t.blank()
		f.planLines(t)
		if f.stage == keyApplying {
			p.fixed = []string{"  " + th.Styles.Fg[themes.ToneAccent].Render("adding the key…")}
		} else {
			p.fixed = f.btns.pageLines(width-2, &th.Styles)
		}
		p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "back to the form"), hint("pgup/pgdn", "scroll"))
	case keyServiceOffer, keyServiceAdding, keyWaiting:
		p.key = "after"
		f.afterLines(m, t)
		switch f.stage {
		case keyServiceAdding:
			p.fixed = []string{"  " + th.Styles.Fg[themes.ToneAccent].Render("working…")}
		default:
			p.fixed = f.btns.pageLines(width-2, &th.Styles)
		}
		p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "close"), hint("pgup/pgdn", "scroll"))
	}
	p.body = t.out
	return p
}

// planLines is the plan in full, warnings in the warning tone and notes
// muted.
func (f *keyFlow) planLines(t *text) {
	for _, l := range f.plan.Lines() {
		tone := themes.ToneText
		switch l.Kind {
		case identities.PlanWarning:
			tone = themes.ToneWarn
		case identities.PlanNote:
			tone = themes.ToneMuted
		}
		t.block(l.Text, tone, 1)
	}
	for _, n := range f.notes {
		t.item("!", n, themes.ToneWarn)
	}
}

// afterLines: what was done, the service offer, the restart reminder and
// whether the node reports the key yet.
func (f *keyFlow) afterLines(m *Model, t *text) {
	name := filepath.Base(f.res.Path)
	t.item("✓", fmt.Sprintf("added %s (identity %s)", f.res.Path, f.res.PublicHex), themes.ToneOK)
	if f.res.CreatedDir {
		t.item("✓", "created "+filepath.Dir(f.res.Path), themes.ToneOK)
	}
	if f.res.Backup != "" {
		t.item("✓", "moved the original to "+f.res.Backup+" (a backup: keep it somewhere safe)", themes.ToneOK)
	} else {
		t.item("·", "kept the original "+f.plan.Source, themes.ToneMuted)
	}
	for _, w := range f.res.Warnings {
		t.item("!", w, themes.ToneWarn)
	}
	t.blank()
	if f.stage == keyServiceOffer || f.stage == keyServiceAdding && f.svc != nil {
		t.section(" Add a [[service]] for it to " + m.cfg.Path + "?")
		t.block(config.ServiceSnippet(f.svc.Service, f.svc.Launch), themes.ToneText, 2)
		return
	}
	if f.svcNote != "" {
		mark := map[themes.Tone]string{themes.ToneOK: "✓", themes.ToneDanger: "✗"}[f.svcTone]
		t.item(cmp.Or(mark, "·"), f.svcNote, f.svcTone)
		t.blank()
	}
	if f.stage != keyWaiting {
		return
	}
	t.section(" Next")
	t.item("1.", identities.RestartReminder, themes.ToneWarn)
	t.item("2.", "start the identity's post-service (--dir "+f.plan.Options.PostDir+")", themes.ToneText)
	t.item("3.", identities.EquivocationWarning, themes.ToneWarn)
	t.blank()
	switch {
	case f.confirmed:
		t.item("✓", "the node now reports "+name+" ("+f.confirmMsg+")", themes.ToneOK)
	case f.seen:
		t.item("…", "waiting for the node to report "+name+": "+f.confirmMsg, themes.ToneMuted)
	default:
		t.item("…", "waiting for the node to report "+name+" (checked on every poll)", themes.ToneMuted)
	}
}
