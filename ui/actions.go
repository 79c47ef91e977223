package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/proc"
	"postdeck/model"
	"postdeck/themes"
)

// Actions start and stop post-services. The dashboard calls them only from
// tea.Cmds, never from Update, so a slow call never freezes the screen.
// backend.Controller satisfies it; nil Options.Actions makes the dashboard
// view-only.
type Actions interface {
	// Start starts a service; the outcome carries warnings such as
	// "not-on-node: the node does not know this identity".
	Start(ctx context.Context, service string) (model.StartOutcome, error)
	// Stop stops a service in the given mode; it re-checks the safety of the
	// stop itself at the moment of stopping. A refused stop is an error.
	Stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error)
	// Restart stops a service (only if safe, re-checked) and starts it.
	Restart(ctx context.Context, service string) (model.StartOutcome, error)
	SetAuto(on bool)
	Auto() bool
	// LogSource is where the service's log is: the file postdeck writes,
	// or a systemd unit's journal. The log view reads it with
	// backend.ReadLog.
	LogSource(service string) (LogSource, error)
}

// LogReader finds where a service's log is. Actions is one; a read-only
// session is given one alone (Options.Logs).
type LogReader interface {
	LogSource(service string) (LogSource, error)
}

// LogSource is backend's, named here so that wrappers of Actions (sshserve)
// need not import backend.
type LogSource = proc.LogSource

const (
	// actionWorkers bounds how many Actions calls run at once, so a bulk
	// action over 100 services neither floods the machine nor the program.
	actionWorkers = 8
	// actionTimeout bounds one call (a stop waits for SIGTERM's grace).
	actionTimeout = 2 * time.Minute
	// How long a result stays in the footer unless another action replaces it.
	noteFor  = 5 * time.Second
	errorFor = 12 * time.Second
	// listed is how many failures or warnings a summary names.
	listed = 3
)

// opKind is what an operation does to each of its services.
type opKind int

const (
	opStart opKind = iota
	opStop
	opRestart
	opForceRestart // stop with StopForce, then start
)

// op is one user action over one or more services, in flight or done.
type op struct {
	id        int
	kind      opKind
	verb      string // "stop"
	gerund    string // "stopping"
	past      string // "stopped"
	total     int
	done      int
	ok        int
	unchanged int      // of ok: found running (a start) or stopped (a stop) already
	fails     []string // each failure's sentence, in arrival order
	notes     []string // "svc: warning"
	skipped   []string // rows without a service
	last      result   // the last result: the whole story of a one-service op
}

// actionResultMsg is the result of one Actions call of operation op.
type actionResultMsg struct {
	op      int
	service string
	res     result
}

// autoMsg reports automatic proving switched on or off.
type autoMsg struct{ on bool }

// status is the footer's message: a result, kept for a while.
type status struct {
	text  string
	tone  themes.Tone
	until time.Time
}

// opWords names an operation for progress and summaries.
func opWords(kind opKind, mode model.StopMode) (verb, gerund, past string) {
	switch kind {
	case opStart:
		return "start", "starting", "started"
	case opRestart:
		return "restart", "restarting", "restarted"
	case opForceRestart:
		return "force-restart", "force-restarting", "force-restarted"
	}
	switch mode {
	case model.StopWhenSafe:
		return "queue a stop for", "queueing stops", "stop queued for"
	case model.StopForce:
		return "force-stop", "force-stopping", "force-stopped"
	case model.StopCancel:
		return "cancel the pending stop of", "cancelling pending stops", "pending stop cancelled for"
	}
	return "stop", "stopping", "stopped"
}

// call is the Actions call an operation makes for one service; its
// outcome comes back as values for the footer to word.
func call(a Actions, kind opKind, mode model.StopMode) func(ctx context.Context, svc string) result {
	switch kind {
	case opStart:
		return func(ctx context.Context, svc string) result {
			o, err := a.Start(ctx, svc)
			return result{start: o, err: err}
		}
	case opRestart:
		return func(ctx context.Context, svc string) result {
			o, err := a.Restart(ctx, svc)
			return result{start: o, err: err}
		}
	case opForceRestart:
		return func(ctx context.Context, svc string) result {
			stopped, err := a.Stop(ctx, svc, model.StopForce)
			if err != nil {
				return result{err: err}
			}
			started, err := a.Start(ctx, svc)
			return result{start: started, stop: stopped, err: err}
		}
	}
	return func(ctx context.Context, svc string) result {
		o, err := a.Stop(ctx, svc, mode)
		return result{stop: o, err: err}
	}
}

// runOp starts an operation: one Cmd per service, all run by tea.Batch in
// their own goroutines, at most actionWorkers inside Actions at a time. Each
// returns an actionResultMsg; Update counts them, so the screen shows the
// progress and never waits.
func (m *Model) runOp(kind opKind, mode model.StopMode, services, skipped []string) tea.Cmd {
	if m.actions == nil {
		return nil
	}
	if len(services) == 0 {
		m.skippedOnly(skipped)
		return nil
	}
	m.opSeq++
	o := &op{id: m.opSeq, kind: kind, total: len(services), skipped: skipped}
	o.verb, o.gerund, o.past = opWords(kind, mode)
	m.ops = append(m.ops, o)
	m.status = status{} // a new action replaces the last result
	fn := call(m.actions, kind, mode)
	sem := m.sem
	cmds := make([]tea.Cmd, len(services))
	for i, svc := range services {
		cmds[i] = func() tea.Msg {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
			defer cancel()
			return actionResultMsg{op: o.id, service: svc, res: fn(ctx, svc)}
		}
	}
	return tea.Batch(cmds...)
}

// skippedOnly says why an action did nothing.
func (m *Model) skippedOnly(skipped []string) {
	if len(skipped) == 0 {
		m.setStatus("no row to act on", themes.ToneWarn)
		return
	}
	m.setStatus("nothing to do: "+skipNote(skipped), themes.ToneWarn)
}

func skipNote(skipped []string) string {
	if len(skipped) == 1 {
		return "skipped " + skipped[0] + " (no post-service configured)"
	}
	return fmt.Sprintf("skipped %d rows without a post-service (%s)", len(skipped), listFirst(skipped, listed))
}

// actionResult counts one result; the last one turns into the summary.
func (m *Model) actionResult(msg actionResultMsg) {
	var o *op
	for _, x := range m.ops {
		if x.id == msg.op {
			o = x
		}
	}
	if o == nil {
		return // not ours (a stale reply): drop it
	}
	o.done++
	o.count(msg.service, msg.res)
	if o.done < o.total {
		return
	}
	m.ops = slices.DeleteFunc(m.ops, func(x *op) bool { return x == o })
	if o.total == 1 {
		m.single(o, msg.service)
		return
	}
	m.summary(o)
}

// count adds one service's result to the operation's tally.
func (o *op) count(svc string, r result) {
	o.last = r
	if r.err != nil {
		o.fails = append(o.fails, printable(firstLine(failure(o, svc, r.err)), false))
		return
	}
	o.ok++
	if r.unchanged(o.kind) {
		o.unchanged++
	}
	for _, w := range r.start.Warnings {
		o.notes = append(o.notes, printable(svc+": "+firstLine(w), false))
	}
}

// single is the result of an operation on one service: one sentence.
func (m *Model) single(o *op, svc string) {
	text, tone := sentence(o, svc, o.last)
	text = printable(firstLine(text), false)
	if len(o.skipped) > 0 {
		text += "; " + skipNote(o.skipped)
	}
	m.setStatus(text, tone)
}

// summary is the result of a bulk operation: "started 98, 2 failed: …".
func (m *Model) summary(o *op) {
	text := fmt.Sprintf("%s %d", o.past, o.ok)
	if o.unchanged > 0 {
		text += fmt.Sprintf(" (%d %s)", o.unchanged, unchangedWords(o.kind))
	}
	tone := themes.ToneOK
	if n := len(o.fails); n > 0 {
		text += fmt.Sprintf(", %d failed: %s", n, listFirst(o.fails, listed))
		tone = themes.ToneDanger
	}
	if n := len(o.notes); n > 0 {
		text += fmt.Sprintf("; %d warning%s: %s", n, plural(n), listFirst(o.notes, listed))
		if tone == themes.ToneOK {
			tone = themes.ToneWarn
		}
	}
	if len(o.skipped) > 0 {
		text += "; " + skipNote(o.skipped)
	}
	m.setStatus(text, tone)
}

// listFirst joins the first n items, saying how many more there are.
func listFirst(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; … %d more", len(items)-n)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// setStatus shows text in the footer; errors stay longer than notes.
func (m *Model) setStatus(text string, tone themes.Tone) {
	d := noteFor
	if tone == themes.ToneDanger || tone == themes.ToneWarn {
		d = errorFor
	}
	m.status = status{text: text, tone: tone, until: m.now().Add(d)}
}

// statusLine is what the footer says instead of key hints: the progress of
// the operations in flight, else the last result while it is fresh.
func (m *Model) statusLine() (string, themes.Tone, bool) {
	if len(m.ops) > 0 {
		parts := make([]string, len(m.ops))
		for i, o := range m.ops {
			parts[i] = fmt.Sprintf("%s %d/%d…", o.gerund, o.done, o.total)
		}
		return strings.Join(parts, " · "), themes.ToneAccent, true
	}
	if m.status.text != "" && m.now().Before(m.status.until) {
		return m.status.text, m.status.tone, true
	}
	return "", 0, false
}

// toggleAuto flips automatic proving in a Cmd.
func (m *Model) toggleAuto() tea.Cmd {
	a := m.actions
	if a == nil {
		return nil
	}
	m.status = status{}
	return func() tea.Msg {
		on := !a.Auto()
		a.SetAuto(on)
		return autoMsg{on: on}
	}
}

// targets are the rows an action applies to: the selected rows, else the
// cursor row. Rows without a post-service are returned by label in skipped.
func (m *Model) targets() (rows []*model.Row, skipped []string) {
	t := &m.table
	add := func(r *model.Row) {
		if r.Service == "" {
			skipped = append(skipped, printable(r.Label(), false))
			return
		}
		rows = append(rows, r)
	}
	if len(m.selected) == 0 {
		if r := t.selected(); r != nil {
			add(r)
		}
		return rows, skipped
	}
	for i := range t.rows {
		if m.selected[t.rows[i].Key] {
			add(&t.rows[i])
		}
	}
	return rows, skipped
}

func services(rows []*model.Row) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.Service
	}
	return out
}

// toggleSelect selects or unselects the cursor row and moves down, so space
// held down selects a run of rows.
func (m *Model) toggleSelect() {
	r := m.table.selected()
	if r == nil {
		return
	}
	if m.selected[r.Key] {
		delete(m.selected, r.Key)
	} else {
		m.selected[r.Key] = true
	}
	m.table.move(1)
}

// selectAll selects every row the filter shows.
func (m *Model) selectAll() {
	for _, i := range m.table.idx {
		m.selected[m.table.rows[i].Key] = true
	}
}

// pruneSelection drops selected rows that left the snapshot.
func (m *Model) pruneSelection(rows []model.Row) {
	if len(m.selected) == 0 {
		return
	}
	keep := make(map[string]bool, len(m.selected))
	for i := range rows {
		if m.selected[rows[i].Key] {
			keep[rows[i].Key] = true
		}
	}
	m.selected = keep
}

// startKey starts the target services: no dialog, starting loses nothing.
func (m *Model) startKey() tea.Cmd {
	rows, skipped := m.targets()
	return m.runOp(opStart, 0, services(rows), skipped)
}

// stopKey opens the stop dialog over the targets.
func (m *Model) stopKey() tea.Cmd {
	rows, skipped := m.targets()
	if len(rows) == 0 {
		m.skippedOnly(skipped)
		return nil
	}
	m.openDialog(dialogStop, rows, skipped)
	return nil
}

// restartKey restarts the targets at once when every stop is safe, else
// asks in the dialog.
func (m *Model) restartKey() tea.Cmd {
	rows, skipped := m.targets()
	if len(rows) == 0 {
		m.skippedOnly(skipped)
		return nil
	}
	for _, r := range rows {
		if !model.StopVerdict(r).Safe {
			m.openDialog(dialogRestart, rows, skipped)
			return nil
		}
	}
	return m.runOp(opRestart, 0, services(rows), skipped)
}
