package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend"
	"postdeck/merge"
	"postdeck/model"
	"postdeck/safefile"
	"postdeck/themes"
)

// The migration wizard (M, or `postdeck migrate`): the guide's steps for
// moving old nodes' identities onto one node, in order:
//
//  1. pick the old nodes' data folders (sources) and the target;
//  2. a checklist re-evaluated every second: every node stopped (checked,
//     not asked), schema 5 or newer, backups possible;
//  3. rename local.key to a descriptive name (atomically, never replacing);
//  4. the merge plan of each source;
//  5. confirm by typing the target folder's name;
//  6. the merges, one after another; a failure stops here;
//  7. a [[service]] per merged identity, its PoST data checked against the key;
//  8. after the node's restart: every identity in SmesherIDs and PostStates,
//     and the coinbase and smeshing-start reminders.
//
// esc goes back while nothing was changed; leaving later says what was and
// was not done.

const wizardSteps = 8

var wizardStepNames = [wizardSteps + 1]string{"", "folders", "checks", "local.key", "plans", "confirm", "merge", "services", "verify"}

// checkEvery is how often the step-2 checklist is re-evaluated.
const checkEvery = time.Second

// Button labels of the wizard.
const (
	btnBack     = "Back"
	btnContinue = "Continue"
	btnStay     = "Stay"
	btnLeave    = "Leave the wizard"
	btnFinish   = "Finish"
)

type wizard struct {
	step int

	form    form // step 1: sources, then the target last
	formErr string
	sources []string
	target  string

	check    *wizCheck // step 2: the latest checklist
	checking bool

	locals    []wizLocal // step 3
	localDirs []string   // folders with local.key: from the last check or rename
	renaming  bool
	renameErr string

	plans    []*merge.Plan // step 4
	cross    []string      // problems between the sources
	planning bool
	planErr  string
	btns     buttons

	confirm confirmInput // step 5

	runs    []mergeRun // step 6: one per source started
	running bool
	failed  bool

	ids      []wizID // step 7 and 8
	idFocus  int
	idsReady bool
	adding   bool
	polled   bool // a snapshot arrived in step 8
	nodeDown bool // the latest one had no answer from the node

	done    []string // what the wizard changed, in order
	cfgPath string   // the config file services are added to

	leaving   bool
	leaveBtns buttons
}

// wizCheck is one evaluation of the step-2 checklist.
type wizCheck struct {
	addrs, answer []string      // the configured node's listeners; those that answered
	plans         []*merge.Plan // per source, planned without probing listeners
	errs          []string
	locals        []string // folders whose identities/ has local.key
}

// wizLocal is a local.key to rename.
type wizLocal struct {
	dir  string
	side string
	in   pathInput
	msg  string
	ok   bool
}

// wizID is an identity merged by the wizard.
type wizID struct {
	key    merge.KeyCopy
	source string
	in     pathInput
	state  string // what became of its service: "" still to do
	tone   themes.Tone
	err    string // why the folder given was not taken
	// After the restart: whether the node reports it, and what was seen.
	confirmed bool
	seen      string
}

type (
	wizCheckMsg   struct{ c *wizCheck }
	wizRecheckMsg struct{}
	wizRenameMsg  struct {
		msgs   []string
		ok     []bool
		locals []string
	}
	wizPlansMsg struct {
		plans []*merge.Plan
		err   error
	}
	wizReplanMsg struct {
		i    int
		plan *merge.Plan
		err  error
	}
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

// openWizard is the M key (and `postdeck migrate`).
func (m *Model) openWizard() tea.Cmd {
	if m.cfg == nil {
		m.setStatus("the migration wizard "+needConfig, themes.ToneWarn)
		return nil
	}
	w := &wizard{step: 1, cfgPath: m.cfg.Path}
	w.form.fields = []field{
		{label: "Source 1 (old node)", path: true, in: newPathInput(&m.theme, "", "an old node's data folder: local.sql and identities/")},
		{label: "Target (this node)", path: true, in: newPathInput(&m.theme, m.cfg.Node.DataFolder, "")},
	}
	m.openFlow(w)
	return w.form.focusOn(0)
}

// addSource adds a source field before the target.
func (w *wizard) addSource(m *Model) tea.Cmd {
	n := len(w.form.fields)
	f := field{label: fmt.Sprintf("Source %d (old node)", n), path: true, in: newPathInput(&m.theme, "", "another old node's data folder")}
	w.form.fields = slices.Insert(w.form.fields, n-1, f)
	w.form.focus = n - 1
	for i := range w.form.fields {
		w.form.fields[i].in.blur()
	}
	return w.form.focusOn(n - 1)
}

// leaveStep1 checks the folders typed and moves to the checklist.
func (w *wizard) leaveStep1(m *Model) tea.Cmd {
	fs := w.form.fields
	target := resolvePath(fs[len(fs)-1].in.value())
	var sources []string
	for _, f := range fs[:len(fs)-1] {
		s := resolvePath(f.in.value())
		if s != "" && !slices.Contains(sources, s) {
			sources = append(sources, s)
		}
	}
	switch {
	case len(sources) == 0:
		w.formErr = "give at least one old node's data folder"
		return nil
	case target == "":
		w.formErr = "give the target: the node data folder the identities go to"
		return nil
	case slices.Contains(sources, target):
		w.formErr = "the target is also a source: " + target
		return nil
	}
	w.sources, w.target, w.formErr = sources, target, ""
	return w.toStep(m, 2)
}

// toStep moves to a step and starts what it needs.
func (w *wizard) toStep(m *Model, step int) tea.Cmd {
	w.step = step
	m.status = status{}
	switch step {
	case 1:
		return w.form.focusOn(w.form.focus)
	case 2:
		w.check = nil
		return w.runCheck(m)
	case 3:
		w.renameErr = ""
		w.setLocals(m, w.localDirs)
		if len(w.locals) > 0 {
			return w.locals[0].in.focus()
		}
	case 4:
		w.plans, w.cross, w.planErr, w.planning = nil, nil, "", true
		w.btns = newButtons(m.now(), btn{label: btnBack, on: true})
		return w.planAll(m)
	case 5:
		var cmd tea.Cmd
		w.confirm, cmd = newConfirm(&m.theme, filepath.Base(w.target))
		return cmd
	case 6:
		w.runs, w.failed = nil, false
		return w.nextMerge(m)
	case 7:
		w.ids = nil
		for _, r := range w.runs {
			if r.sum == nil {
				continue
			}
			for _, k := range r.sum.Keys {
				w.ids = append(w.ids, wizID{key: k, source: r.from,
					in: newPathInput(&m.theme, "", "its PoST data folder (tab completes); empty + enter skips")})
			}
		}
		w.idsReady, w.idFocus = false, 0
		cfg, target := m.cfg, w.target
		return m.flowDo(func() tea.Msg { return existingServices(cfg, target) })
	case 8:
		w.btns = newButtons(m.now(), btn{label: btnFinish, on: true})
	}
	return nil
}

// runCheck evaluates the checklist in a Cmd.
func (w *wizard) runCheck(m *Model) tea.Cmd {
	w.checking = true
	sources, target, addrs := w.sources, w.target, nodeAddrs(m.cfg)
	return m.flowDo(func() tea.Msg {
		c := &wizCheck{addrs: addrs, answer: merge.Answering(context.Background(), addrs)}
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		for _, s := range sources {
			p, err := merge.NewPlan(ctx, merge.Options{From: s, To: target})
			if err != nil {
				c.errs = append(c.errs, fmt.Sprintf("cannot check %s: %v", s, err))
			}
			c.plans = append(c.plans, p)
		}
		c.locals = findLocalKeys(append(slices.Clone(sources), target))
		return wizCheckMsg{c}
	})
}

// findLocalKeys lists the folders whose identities/ holds local.key.
func findLocalKeys(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		if _, err := os.Lstat(filepath.Join(d, "identities", model.LocalKeyName)); err == nil {
			out = append(out, d)
		}
	}
	return out
}

// checkItem is one line of the checklist.
type checkItem struct {
	ok      bool
	text    string
	details []string
}

// items turns a check into the checklist. The kinds of problem that belong
// to later steps (local.key, clashes) are left to them.
func (w *wizard) items(c *wizCheck) []checkItem {
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
	var out []checkItem
	switch {
	case len(c.addrs) == 0:
		out = append(out, checkItem{ok: true, text: "the config names no node listener to probe: make sure the node is stopped (its database is checked below)"})
	case len(c.answer) > 0:
		out = append(out, checkItem{text: "the configured node is running: it answers at " + strings.Join(c.answer, ", ") + ": stop it and wait until it has exited"})
	default:
		out = append(out, checkItem{ok: true, text: "the configured node is stopped: nothing answers at " + strings.Join(c.addrs, ", ")})
	}
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
		out = append(out, checkItem{ok: len(vs) == len(w.sources), text: text, details: vs})
	}
	if ps := kinds(merge.KindReadOnly, merge.KindSpace, merge.KindUnfinished); len(ps) > 0 {
		out = append(out, checkItem{text: "backups cannot be made", details: ps})
	} else {
		text := "backups will be made: before each merge the target's local.sql and identities/ are copied into " +
			filepath.Join(w.target, "backup-<time>") + "/"
		if len(c.plans) > 0 && c.plans[0] != nil && c.plans[0].CreateDB {
			text = "the target has no local.sql yet: the first merge creates it (nothing to back up); each later merge first copies the target's local.sql and identities/ into " +
				filepath.Join(w.target, "backup-<time>") + "/"
		}
		out = append(out, checkItem{ok: true, text: text})
	}
	return out
}

// green reports whether every item of the latest check is ticked.
func (w *wizard) green() bool {
	if w.check == nil {
		return false
	}
	for _, it := range w.items(w.check) {
		if !it.ok {
			return false
		}
	}
	return true
}

// setLocals lists the local.key files to rename, keeping typed names.
func (w *wizard) setLocals(m *Model, dirs []string) {
	old := map[string]string{}
	for _, l := range w.locals {
		old[l.dir] = l.in.value()
	}
	w.locals = nil
	for _, d := range dirs {
		side := "source"
		if d == w.target {
			side = "target"
		}
		name, ok := old[d]
		if !ok {
			name = filepath.Base(d) + ".key"
		}
		w.locals = append(w.locals, wizLocal{dir: d, side: side, in: newPathInput(&m.theme, name, "")})
	}
}

// renameLocals renames every local.key to the name typed for it, in a Cmd.
func (w *wizard) renameLocals(m *Model) tea.Cmd {
	type job struct{ dir, name string }
	var jobs []job
	for _, l := range w.locals {
		jobs = append(jobs, job{l.dir, strings.TrimSpace(l.in.value())})
	}
	dirs := append(slices.Clone(w.sources), w.target)
	w.renaming = true
	return m.flowDo(func() tea.Msg {
		var r wizRenameMsg
		for _, j := range jobs {
			err := renameLocalKey(j.dir, j.name)
			if err != nil {
				r.msgs = append(r.msgs, err.Error())
			} else {
				r.msgs = append(r.msgs, fmt.Sprintf("renamed %s to %s", filepath.Join(j.dir, "identities", model.LocalKeyName), j.name))
			}
			r.ok = append(r.ok, err == nil)
		}
		r.locals = findLocalKeys(dirs)
		return r
	})
}

// renameLocalKey renames <dir>/identities/local.key to name: never over an
// existing file (a hard link makes the new name, which fails if it exists,
// then the old name is removed), and the folder is synced.
func renameLocalKey(dir, name string) error {
	if name == model.LocalKeyName {
		return errors.New("choose a name other than local.key")
	}
	if err := backend.CheckKeyName(name); err != nil {
		return err
	}
	ids := filepath.Join(dir, "identities")
	src, dst := filepath.Join(ids, model.LocalKeyName), filepath.Join(ids, name)
	if err := safefile.RenameNoReplace(src, dst); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: choose another name", dst)
	} else if err != nil {
		return fmt.Errorf("cannot rename %s: %v", src, err)
	}
	return safefile.SyncDir(ids)
}

// planAll plans every source against the target, probing the node.
func (w *wizard) planAll(m *Model) tea.Cmd {
	sources, target, addrs := w.sources, w.target, nodeAddrs(m.cfg)
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		var plans []*merge.Plan
		for _, s := range sources {
			p, err := merge.NewPlan(ctx, merge.Options{From: s, To: target, NodeAddrs: addrs})
			if err != nil {
				return wizPlansMsg{err: fmt.Errorf("planning %s: %v", s, err)}
			}
			plans = append(plans, p)
		}
		return wizPlansMsg{plans: plans}
	})
}

// crossProblems finds what no single plan can: two sources with a key file
// of the same name, or the same identity.
func crossProblems(plans []*merge.Plan) []string {
	var out []string
	names := map[string]string{}
	ids := map[string]string{}
	for _, p := range plans {
		for _, k := range p.Keys {
			if other, ok := names[k.Name]; ok {
				out = append(out, fmt.Sprintf("%s and %s both have identities/%s: rename one of them (stop that node first)", other, p.From, k.Name))
			}
			if other, ok := ids[string(k.Public)]; ok {
				out = append(out, fmt.Sprintf("identity %s… is in %s and in %s: one identity must run on one node only; remove it from one of them", k.Short(), other, p.From))
			}
			names[k.Name], ids[string(k.Public)] = p.From, p.From
		}
	}
	return out
}

func (w *wizard) plansOK() bool {
	if w.planning || w.planErr != "" || len(w.plans) == 0 || len(w.cross) > 0 {
		return false
	}
	for _, p := range w.plans {
		if !p.OK() {
			return false
		}
	}
	return true
}

// nextMerge plans the next source again (the target has changed since step
// 4 if a merge ran) and runs it, or ends step 6.
func (w *wizard) nextMerge(m *Model) tea.Cmd {
	i := len(w.runs)
	if i == len(w.sources) {
		w.running = false
		w.btns = newButtons(m.now(), btn{label: btnContinue, on: true})
		return nil
	}
	w.running = true
	w.runs = append(w.runs, mergeRun{from: w.sources[i], to: w.target})
	o := merge.Options{From: w.sources[i], To: w.target, NodeAddrs: nodeAddrs(m.cfg)}
	return m.flowDo(func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), planTimeout)
		defer cancel()
		p, err := merge.NewPlan(ctx, o)
		return wizReplanMsg{i: i, plan: p, err: err}
	})
}

// sameCopy reports whether a fresh plan copies what the confirmed one did.
func sameCopy(a, b *merge.Plan) bool {
	if len(a.Keys) != len(b.Keys) || len(a.Tables) != len(b.Tables) {
		return false
	}
	for i := range a.Keys {
		if a.Keys[i].Name != b.Keys[i].Name || !bytes.Equal(a.Keys[i].Public, b.Keys[i].Public) {
			return false
		}
	}
	for i := range a.Tables {
		if a.Tables[i].Name != b.Tables[i].Name || a.Tables[i].Copy != b.Tables[i].Copy {
			return false
		}
	}
	return true
}

// stop ends step 6 at a failure.
func (w *wizard) stop(m *Model) {
	w.running, w.failed = false, true
	bs := []btn{{label: btnLeave, on: true}}
	if r := w.runs[len(w.runs)-1]; r.journal {
		bs = append(bs, btn{label: btnRecover, on: true})
	}
	w.btns = newButtons(m.now(), bs...)
}

// existingServices finds the merged keys that already have a [[service]].
func existingServices(cfg *backend.Config, target string) wizServicesMsg {
	if cfg.Path == "" {
		return wizServicesMsg{note: "postdeck runs without a config file: add a [[service]] for each identity by hand"}
	}
	fresh, err := backend.LoadConfig(cfg.Path)
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

// addService checks a PoST data folder against the key and appends its
// [[service]], in a Cmd.
func (w *wizard) addService(m *Model, i int) tea.Cmd {
	id := w.ids[i]
	dir := resolvePath(id.in.value())
	path := m.cfg.Path
	w.adding = true
	return m.flowDo(func() tea.Msg {
		meta, err := backend.ReadMetadata(dir)
		if err != nil {
			return wizServiceMsg{i: i, err: err}
		}
		if !bytes.Equal(meta.NodeID, id.key.Public) {
			return wizServiceMsg{i: i, err: fmt.Errorf("the PoST data in %s belongs to identity %s…, not to %s (%s…): give the folder postcli initialized for this key",
				dir, model.ShortID(meta.NodeID, 12), id.key.Name, id.key.Short())}
		}
		fresh, err := backend.LoadConfig(path)
		if err != nil {
			return wizServiceMsg{i: i, err: fmt.Errorf("the config does not load now: %v", err)}
		}
		svc := backend.ServiceConfig{Name: strings.TrimSuffix(id.key.Name, ".key"), Dir: dir}
		if svc.Operator, err = backend.PickOperator(fresh); err != nil {
			return wizServiceMsg{i: i, err: err}
		}
		if err := backend.AppendService(path, svc); err != nil {
			return wizServiceMsg{i: i, err: err}
		}
		return wizServiceMsg{i: i, state: fmt.Sprintf("added [[service]] %q (dir %s, operator %s)", svc.Name, svc.Dir, svc.Operator)}
	})
}

// focusNextID moves to the next identity whose service is still to do.
func (w *wizard) focusNextID() tea.Cmd {
	for i := range w.ids {
		w.ids[i].in.blur()
	}
	for i := range w.ids {
		if w.ids[i].state == "" {
			w.idFocus = i
			return w.ids[i].in.focus()
		}
	}
	w.idFocus = len(w.ids)
	return nil
}

// openLeave asks before leaving, showing what was and was not done.
func (w *wizard) openLeave(m *Model) {
	w.leaving = true
	w.leaveBtns = newButtons(m.now(), btn{label: btnStay, on: true}, btn{label: btnLeave, on: true})
}

func (w *wizard) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	now := m.now()
	s := k.String()
	if w.leaving {
		if s == "esc" && !w.leaveBtns.inGrace(now) {
			w.leaving = false
			return nil, false
		}
		switch w.leaveBtns.key(k, &m.keys, now) {
		case btnStay:
			w.leaving = false
		case btnLeave:
			return w.leave(m), true
		}
		return nil, false
	}
	switch w.step {
	case 1:
		switch s {
		case "esc":
			if len(w.done) == 0 {
				return w.leave(m), true
			}
			w.openLeave(m)
			return nil, false
		case "enter":
			return w.leaveStep1(m), false
		case "ctrl+n":
			return w.addSource(m), false
		}
		w.formErr = ""
		return w.form.key(k, m.flowCmd), false
	case 2:
		switch s {
		case "esc":
			return w.toStep(m, 1), false
		case "enter":
			if w.green() {
				return w.toStep(m, 3), false
			}
			m.setStatus("not every check is ticked yet: the list is checked again every second", themes.ToneWarn)
		}
	case 3:
		switch s {
		case "esc":
			return w.toStep(m, 2), false
		case "enter":
			if w.renaming {
				return nil, false
			}
			if len(w.locals) == 0 {
				return w.toStep(m, 4), false
			}
			return w.renameLocals(m), false
		case "up", "shift+tab", "down", "tab":
			if len(w.locals) > 1 {
				i := 0
				for j := range w.locals {
					if w.locals[j].in.input.Focused() {
						i = j
					}
					w.locals[j].in.blur()
				}
				if s == "up" || s == "shift+tab" {
					i = (i + len(w.locals) - 1) % len(w.locals)
				} else {
					i = (i + 1) % len(w.locals)
				}
				return w.locals[i].in.focus(), false
			}
			return nil, false
		}
		for j := range w.locals {
			if w.locals[j].in.input.Focused() {
				return w.locals[j].in.update(k), false
			}
		}
	case 4:
		if s == "esc" && !w.btns.inGrace(now) {
			return w.toStep(m, 3), false
		}
		switch w.btns.key(k, &m.keys, now) {
		case btnBack:
			return w.toStep(m, 3), false
		case btnPlanAgain:
			return w.toStep(m, 4), false
		case btnContinue:
			return w.toStep(m, 5), false
		}
	case 5:
		if s == "esc" {
			return w.toStep(m, 4), false
		}
		ok, cmd := w.confirm.key(k)
		if ok {
			return w.toStep(m, 6), false
		}
		return cmd, false
	case 6:
		if w.running {
			if s == "esc" {
				m.setStatus("a merge is running: it cannot be stopped half way; wait for it to end", themes.ToneWarn)
			}
			return nil, false
		}
		if s == "esc" {
			w.openLeave(m)
			return nil, false
		}
		switch w.btns.key(k, &m.keys, now) {
		case btnContinue:
			return w.toStep(m, 7), false
		case btnLeave:
			w.openLeave(m)
		case btnRecover:
			r := &w.runs[len(w.runs)-1]
			to := r.to
			w.btns.set(btn{label: btnLeave, on: true})
			return m.flowDo(func() tea.Msg {
				s, err := merge.Recover(to)
				return recoverMsg{s, err}
			}), false
		}
	case 7:
		switch s {
		case "esc":
			w.openLeave(m)
			return nil, false
		case "enter":
			if !w.idsReady || w.adding {
				return nil, false
			}
			if w.idFocus >= len(w.ids) {
				return w.toStep(m, 8), false
			}
			id := &w.ids[w.idFocus]
			if strings.TrimSpace(id.in.value()) == "" {
				id.state, id.tone = "skipped: no service added", themes.ToneWarn
				return w.focusNextID(), false
			}
			if m.cfg.Path == "" {
				id.state, id.tone = "no config file to add it to: add it by hand", themes.ToneWarn
				return w.focusNextID(), false
			}
			return w.addService(m, w.idFocus), false
		case "tab":
			if w.idFocus < len(w.ids) {
				return m.flowCmd(w.ids[w.idFocus].in.complete()), false
			}
			return nil, false
		}
		if w.idFocus < len(w.ids) {
			return w.ids[w.idFocus].in.update(k), false
		}
	case 8:
		if s == "esc" {
			w.openLeave(m)
			return nil, false
		}
		if w.btns.key(k, &m.keys, now) == btnFinish {
			return w.leave(m), true
		}
	}
	return nil, false
}

// leave keeps the report for `postdeck migrate` to print.
func (w *wizard) leave(m *Model) tea.Cmd {
	m.migrateReport = w.report(m)
	if !m.migrateOnly && len(w.done) > 0 {
		m.setStatus("migration wizard closed: "+firstLine(strings.TrimPrefix(m.migrateReport, "Migration wizard: ")), themes.ToneAccent)
	}
	return nil
}

func (w *wizard) result(m *Model, msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case completeMsg:
		w.form.apply(msg)
		for i := range w.ids {
			w.ids[i].in.apply(msg)
		}
	case wizCheckMsg:
		w.checking = false
		if w.step != 2 {
			return nil
		}
		w.check, w.localDirs = msg.c, msg.c.locals
		return m.flowAfter(checkEvery, wizRecheckMsg{})
	case wizRecheckMsg:
		if w.step == 2 && !w.checking {
			return w.runCheck(m)
		}
	case wizRenameMsg:
		w.renaming = false
		var errs []string
		for i, ok := range msg.ok {
			if ok {
				w.done = append(w.done, msg.msgs[i])
			} else {
				errs = append(errs, msg.msgs[i])
			}
		}
		w.renameErr = strings.Join(errs, "; ")
		w.localDirs = msg.locals
		w.setLocals(m, msg.locals)
		if len(w.locals) > 0 {
			return w.locals[0].in.focus()
		}
	case wizPlansMsg:
		if w.step != 4 {
			return nil
		}
		w.planning = false
		if msg.err != nil {
			w.planErr = msg.err.Error()
		} else {
			w.plans, w.cross = msg.plans, crossProblems(msg.plans)
		}
		w.btns = newButtons(m.now(), btn{label: btnBack, on: true}, btn{label: btnPlanAgain, on: true},
			btn{label: btnContinue, on: w.plansOK(), why: "refused: see the problems"})
	case wizReplanMsg:
		r := &w.runs[msg.i]
		switch {
		case msg.err != nil:
			r.err = msg.err
		case !msg.plan.OK():
			r.err = &merge.RefusedError{Problems: msg.plan.Problems}
		case !sameCopy(w.plans[msg.i], msg.plan):
			r.err = fmt.Errorf("%s changed since you confirmed its plan (other keys or rows): nothing was changed by this merge; leave the wizard and start it again to see the new plan", r.from)
		}
		if r.err != nil {
			// Refused before it ran: a journal there is an earlier merge's, which
			// the plan reports as unfinished.
			r.state, r.journal = targetState(r.to, r.err, msg.plan != nil && msg.plan.Has(merge.KindUnfinished))
			w.stop(m)
			return nil
		}
		return m.startMerge(msg.plan)
	case mergeRunMsg:
		r := &w.runs[len(w.runs)-1]
		if !r.follow(msg.msg) {
			return m.nextMerge(msg.ch)
		}
		if r.err != nil {
			w.stop(m)
			return nil
		}
		w.done = append(w.done, fmt.Sprintf("merged %s into %s: %d key(s), %d row(s); backup of the target before it: %s",
			r.from, r.to, len(r.sum.Keys), rowsOf(r.sum), orNone(r.sum.Backup)))
		return w.nextMerge(m)
	case recoverMsg:
		r := &w.runs[len(w.runs)-1]
		if msg.err != nil {
			r.recover = "recovery failed: " + msg.err.Error()
		} else {
			r.recover, r.journal, r.state = msg.text, false, "recovered: "+msg.text
			w.done = append(w.done, msg.text)
		}
	case wizServicesMsg:
		w.idsReady = true
		for i := range w.ids {
			if s, ok := msg.existing[w.ids[i].key.Name]; ok {
				w.ids[i].state, w.ids[i].tone = s, themes.ToneOK
			} else if msg.note != "" {
				w.ids[i].state, w.ids[i].tone = msg.note, themes.ToneWarn
			}
		}
		return w.focusNextID()
	case wizServiceMsg:
		w.adding = false
		id := &w.ids[msg.i]
		if msg.err != nil {
			id.err = msg.err.Error()
			return nil
		}
		id.err = ""
		id.state, id.tone = msg.state, themes.ToneOK
		w.done = append(w.done, msg.state+" for "+id.key.Name)
		return w.focusNextID()
	}
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

func (w *wizard) snapshot(m *Model, s *model.Snapshot) {
	if w.step != 8 {
		return
	}
	w.polled = true
	w.nodeDown = !s.Node.HasSmesherIDs && !s.Node.HasPostStates
	if w.nodeDown {
		return
	}
	for i := range w.ids {
		if !w.ids[i].confirmed {
			w.ids[i].confirmed, w.ids[i].seen = backend.ConfirmLoaded(s.Node, w.ids[i].key.Public)
		}
	}
}

func (w *wizard) paste(m *Model, p tea.PasteMsg) tea.Cmd {
	switch w.step {
	case 1:
		return w.form.paste(p)
	case 3:
		for j := range w.locals {
			if w.locals[j].in.input.Focused() {
				return w.locals[j].in.update(p)
			}
		}
	case 5:
		var cmd tea.Cmd
		w.confirm.input, cmd = w.confirm.input.Update(p)
		return cmd
	case 7:
		if w.idFocus < len(w.ids) {
			return w.ids[w.idFocus].in.update(p)
		}
	}
	return nil
}

// interrupt is ctrl+c: a running merge is not abandoned on the first, and
// once something was changed the user sees what before leaving.
func (w *wizard) interrupt(m *Model) (tea.Cmd, bool) {
	switch {
	case w.running && !m.quitArmed:
		m.quitArmed = true
		m.setStatus("a merge is running: wait for it to end (ctrl+c again quits anyway; the merge's journal lets `postdeck merge --recover` finish or undo it)", themes.ToneWarn)
		return nil, false
	case len(w.done) > 0 && !w.leaving:
		w.openLeave(m)
		return nil, false
	}
	w.leave(m)
	return nil, true
}

// report says what the wizard did and what is left to do.
func (w *wizard) report(m *Model) string {
	var b strings.Builder
	if len(w.done) == 0 {
		b.WriteString("Migration wizard: nothing was changed.\n")
	} else {
		b.WriteString("Migration wizard: done:\n")
		for _, d := range w.done {
			fmt.Fprintf(&b, "  - %s\n", d)
		}
	}
	var not []string
	if w.running && len(w.runs) > 0 {
		r := w.runs[len(w.runs)-1]
		not = append(not, fmt.Sprintf("the merge of %s was still running: run `postdeck merge --recover --to %s` before anything else (it finishes or undoes it)", r.from, r.to))
	}
	if len(w.sources) > 0 {
		for i, s := range w.sources {
			if i >= len(w.runs) || w.runs[i].sum == nil {
				not = append(not, "not merged: "+s)
			}
		}
	}
	for _, id := range w.ids {
		if !strings.HasPrefix(id.state, "added") && !strings.HasPrefix(id.state, "already") {
			not = append(not, "no [[service]] added for "+id.key.Name)
		}
	}
	merged, confirmed := len(w.ids) > 0, true
	for _, id := range w.ids {
		if !id.confirmed {
			confirmed = false
			not = append(not, "the node has not been seen reporting "+id.key.Name+" yet")
		}
	}
	if len(not) > 0 {
		b.WriteString("Not done:\n")
		for _, n := range not {
			fmt.Fprintf(&b, "  - %s\n", n)
		}
	}
	switch {
	case merged && confirmed:
		b.WriteString("Next: start a post-service per identity, and never start the old nodes with these keys again.\n")
	case merged:
		b.WriteString("Next: restart the node (it reads identities/ only when it starts), start a post-service per identity, and never start the old nodes with these keys again.\n")
	}
	return b.String()
}

func (w *wizard) page(m *Model, width int) page {
	th := &m.theme
	st := &th.Styles
	t := newText(width, th)
	p := page{key: fmt.Sprint(w.step), cursorLine: -1, follow: w.step == 6,
		title: st.Section.Render(fmt.Sprintf(" Migrate nodes · step %d of %d: %s", w.step, wizardSteps, wizardStepNames[w.step]))}
	if w.leaving {
		p.key += "-leave"
		t.add("Leave the migration wizard?", themes.ToneWarn, 1)
		t.blank()
		t.block(w.report(m), themes.ToneText, 1)
		p.body, p.fixed = t.out, w.leaveBtns.lines(width-2, st)
		p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "stay"))
		return p
	}
	switch w.step {
	case 1:
		t.add("Moves the identities of one or more old nodes onto this node, as the guide says: stop every node, rename local.key, merge each old node's data folder into this one, add a post-service per identity, restart and check. Nothing changes before step 5's confirmation (except the local.key rename in step 3, which asks first).", themes.ToneText, 1)
		t.blank()
		p.fixed, p.cursorLine, p.cursorX = w.form.lines(width, th)
		if w.formErr != "" {
			t.item("✗", w.formErr, themes.ToneDanger)
		}
		p.hints = flowHelp(hint("tab", "complete folder"), hint("ctrl+n", "another source"), hint("↑/↓", "field"), hint("enter", "check"), hint("esc", "leave"))
	case 2:
		w.checkPage(t)
		p.hints = flowHelp(hint("enter", "continue (when all ticked)"), hint("esc", "back"))
	case 3:
		p.fixed, p.cursorLine, p.cursorX = w.localsPage(t, width, th)
		p.hints = flowHelp(hint("enter", "rename / continue"), hint("↑/↓", "field"), hint("esc", "back"))
	case 4:
		w.plansPage(t)
		p.fixed = w.btns.lines(width-2, st)
		p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "back"), hint("pgup/pgdn", "scroll"))
	case 5:
		t.add(fmt.Sprintf("Ready to merge %d node(s) into %s, one after another:", len(w.sources), w.target), themes.ToneText, 1)
		for i, pl := range w.plans {
			t.item(fmt.Sprintf("%d.", i+1), fmt.Sprintf("%s: %d key(s), %d row(s)", pl.From, len(pl.Keys), pl.Rows()), themes.ToneText)
		}
		t.blank()
		t.add("Each merge backs the target up first, copies the rows in one transaction and then the keys: if one fails, the target is left as it was before that merge and the wizard stops there.", themes.ToneMuted, 1)
		p.fixed, p.cursorLine, p.cursorX = w.confirm.lines("start the merges", width, th)
		p.hints = flowHelp(hint("enter", "merge"), hint("esc", "back"))
	case 6:
		for i, r := range w.runs {
			t.section(fmt.Sprintf(" %d/%d  %s", i+1, len(w.sources), r.from))
			r.compact(t)
			t.blank()
		}
		switch {
		case w.failed:
			var rest []string
			for _, s := range w.sources[len(w.runs):] {
				rest = append(rest, s)
			}
			msg := "the wizard stopped at this failure"
			if len(w.runs) > 1 {
				msg += fmt.Sprintf("; the %d merge(s) before it are complete", len(w.runs)-1)
			}
			if len(rest) > 0 {
				msg += "; not run: " + strings.Join(rest, ", ")
			}
			t.item("✗", msg, themes.ToneDanger)
		case !w.running:
			t.item("✓", fmt.Sprintf("all %d merge(s) done; next: a [[service]] for each identity", len(w.runs)), themes.ToneOK)
		}
		if !w.running {
			p.fixed = w.btns.lines(width-2, st)
			p.hints = flowHelp(m.keys.NextButton, m.keys.Press, hint("esc", "leave"), hint("pgup/pgdn", "scroll"))
		}
	case 7:
		p.fixed, p.cursorLine, p.cursorX = w.servicesPage(t, width, th)
		p.hints = flowHelp(hint("tab", "complete folder"), hint("enter", "check and add / skip when empty"), hint("esc", "leave"))
	case 8:
		w.verifyPage(m, t)
		p.fixed = w.btns.lines(width-2, st)
		p.hints = flowHelp(m.keys.Press, hint("esc", "leave"), hint("pgup/pgdn", "scroll"))
	}
	p.body = t.out
	return p
}

func (w *wizard) checkPage(t *text) {
	t.add(fmt.Sprintf("Checked, not asked — again every second. Sources: %s. Target: %s.", strings.Join(w.sources, ", "), w.target), themes.ToneText, 1)
	t.blank()
	if w.check == nil {
		t.item("…", "checking…", themes.ToneMuted)
		return
	}
	for _, it := range w.items(w.check) {
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
	if w.green() {
		t.item("→", "every check is ticked: press enter to continue", themes.ToneOK)
	} else {
		t.item("…", "waiting until every check is ticked (stop the nodes; the list updates by itself)", themes.ToneWarn)
	}
}

func (w *wizard) localsPage(t *text, width int, th *themes.Theme) (fixed []string, cl, cx int) {
	cl = -1
	if w.renameErr != "" {
		t.item("✗", w.renameErr, themes.ToneDanger)
		t.blank()
	}
	if len(w.locals) == 0 {
		t.item("✓", "no local.key in the sources or the target: nothing to rename", themes.ToneOK)
		for _, d := range w.done {
			if strings.HasPrefix(d, "renamed") {
				t.item("✓", d, themes.ToneOK)
			}
		}
		t.blank()
		t.add("Press enter to see the merge plans.", themes.ToneText, 1)
		return nil, -1, 0
	}
	t.add("A node with local.key is a supervised single-identity node: a merge refuses it, and the node refuses to start with local.key beside other keys. Rename each to a descriptive name (the rename never replaces a file):", themes.ToneText, 1)
	st := &th.Styles
	for _, l := range w.locals {
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
	if w.renaming {
		fixed = append(fixed, "  "+st.Fg[themes.ToneAccent].Render("renaming…"))
	}
	return fixed, cl, cx
}

func (w *wizard) plansPage(t *text) {
	switch {
	case w.planning:
		t.item("…", "planning: reading every folder…", themes.ToneMuted)
		return
	case w.planErr != "":
		t.item("✗", w.planErr, themes.ToneDanger)
		return
	}
	for i, p := range w.plans {
		t.section(fmt.Sprintf(" %d/%d  %s", i+1, len(w.plans), p.From))
		planText(t, p)
		t.blank()
	}
	if len(w.plans) > 1 {
		t.add("The merges run one after another; the row counts of the later ones are planned again just before each runs.", themes.ToneMuted, 1)
	}
	for _, c := range w.cross {
		t.item("✗", c, themes.ToneDanger)
	}
	if !w.plansOK() {
		t.item("✗", "refused: fix the problems above (esc goes back to the rename step), then Plan again", themes.ToneDanger)
	}
}

func (w *wizard) servicesPage(t *text, width int, th *themes.Theme) (fixed []string, cl, cx int) {
	st := &th.Styles
	cl = -1
	t.add("Each merged identity needs a post-service proving its PoST data. Give each one's PoST data folder: it is checked against the key (its metadata's NodeId must be the key's public key) and a [[service]] is appended to "+orDash(w.cfgPath)+".", themes.ToneText, 1)
	t.blank()
	if !w.idsReady {
		t.item("…", "reading the config…", themes.ToneMuted)
		return nil, -1, 0
	}
	for i, id := range w.ids {
		label := fmt.Sprintf("%s (%s…, from %s)", id.key.Name, id.key.Short(), filepath.Base(id.source))
		switch {
		case id.state != "":
			t.item(map[bool]string{true: "✓", false: "·"}[id.tone == themes.ToneOK], label+": "+id.state, id.tone)
		case i == w.idFocus:
			t.item(">", label, themes.ToneAccent)
			if id.err != "" {
				t.sub("✗ "+id.err, themes.ToneDanger)
			}
		default:
			t.item("·", label+": to do", themes.ToneMuted)
		}
	}
	if w.idFocus >= len(w.ids) {
		t.blank()
		t.add("Press enter to go on: restart the node and check it has every identity.", themes.ToneText, 1)
		return nil, -1, 0
	}
	id := &w.ids[w.idFocus]
	lead := "  PoST data of " + id.key.Name + ": "
	id.in.input.SetWidth(max(10, width-cellWidth(lead)-2))
	fixed = append(fixed, st.Label.Render(lead)+id.in.input.View())
	if c := id.in.input.Cursor(); c != nil {
		cl, cx = 0, cellWidth(lead)+c.X
	}
	for _, n := range id.in.notes(width - 4) {
		fixed = append(fixed, "    "+st.Fg[themes.ToneMuted].Render(n))
	}
	if w.adding {
		fixed = append(fixed, "  "+st.Fg[themes.ToneAccent].Render("checking and adding…"))
	}
	return fixed, cl, cx
}

func (w *wizard) verifyPage(m *Model, t *text) {
	t.add("Now restart the node: it reads identities/ only when it starts. Then start the post-services (postdeck picks up new [[service]] entries when it is restarted). Each identity is checked on every poll:", themes.ToneText, 1)
	t.blank()
	all := len(w.ids) > 0
	if w.nodeDown {
		t.item("…", "the node does not answer (yet): start it; this list updates on every poll", themes.ToneWarn)
	}
	for _, id := range w.ids {
		switch {
		case id.confirmed:
			t.check(true, id.key.Name+": "+id.seen)
		case id.seen != "" && !w.nodeDown:
			t.item("…", id.key.Name+": "+id.seen, themes.ToneWarn)
		default:
			t.item("…", id.key.Name+": waiting for the node to report it", themes.ToneMuted)
		}
		all = all && id.confirmed
	}
	if all {
		t.blank()
		t.item("✓", fmt.Sprintf("the node reports all %d merged identities in SmesherIDs and PostStates", len(w.ids)), themes.ToneOK)
	}
	t.blank()
	t.section(" Reminders for the node's config")
	n := m.cfg.Node
	switch {
	case n.Coinbase != "":
		t.check(true, "smeshing-coinbase is set ("+n.Coinbase+"): the rewards of every identity go there")
	default:
		t.item("!", "smeshing-coinbase must be set in the node's config (smeshing.smeshing-coinbase): without it the node refuses every post-service", themes.ToneWarn)
	}
	switch {
	case n.SmeshingStart != nil && !*n.SmeshingStart:
		t.check(true, `"smeshing": {"smeshing-start": false} is set: the node does not run its own supervised PoST`)
	case n.SmeshingStart != nil:
		t.check(false, `smeshing-start is true: set "smeshing": {"smeshing-start": false} — a supervised PoST and remote post-services cannot run together`)
	default:
		t.item("!", `set "smeshing": {"smeshing-start": false} in the node's config: a supervised PoST and remote post-services cannot run together`, themes.ToneWarn)
	}
	t.item("!", "never start the old nodes with these keys again: one identity running on two nodes at once is equivocation and gets it banned for good", themes.ToneWarn)
	t.blank()
	t.block(w.report(m), themes.ToneMuted, 1)
}
