package ui

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/model"
	"postdeck/themes"
)

// call is one call the fake Actions received.
type fakeCall struct {
	op      string // start, stop, restart
	service string
	mode    model.StopMode
}

// fakeActions records calls; it is the UI's boundary, the real controller
// is tested in backend.
type fakeActions struct {
	mu       sync.Mutex
	calls    []fakeCall
	auto     bool
	fail     map[string]error  // service → error to return
	notes    map[string]string // service → note to return
	logDir   string
	logUnit  string        // a systemd unit: the log is its journal
	gate     chan struct{} // when set, every call waits for it to close
	inflight int
	peak     int
}

func (f *fakeActions) record(c fakeCall) (string, error) {
	f.mu.Lock()
	f.inflight++
	f.peak = max(f.peak, f.inflight)
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inflight--
	f.calls = append(f.calls, c)
	return f.notes[c.service], f.fail[c.service]
}

func (f *fakeActions) Start(_ context.Context, svc string) (model.StartOutcome, error) {
	return started(f.record(fakeCall{op: "start", service: svc}))
}

// Stop's outcome is what the controller says for the mode: queued for a
// stop when safe, dropped for a cancel, else stopped.
func (f *fakeActions) Stop(_ context.Context, svc string, mode model.StopMode) (model.StopOutcome, error) {
	_, err := f.record(fakeCall{op: "stop", service: svc, mode: mode})
	switch mode {
	case model.StopWhenSafe:
		return model.StopOutcome{Result: model.StopQueued, Reason: "proving"}, err
	case model.StopCancel:
		return model.StopOutcome{Result: model.StopCancelled}, err
	}
	return model.StopOutcome{Result: model.StopDone, Forced: mode == model.StopForce, Reason: "idle"}, err
}

func (f *fakeActions) Restart(_ context.Context, svc string) (model.StartOutcome, error) {
	return started(f.record(fakeCall{op: "restart", service: svc}))
}

// started is a start's outcome with the fake's note as its warning.
func started(note string, err error) (model.StartOutcome, error) {
	var o model.StartOutcome
	if note != "" {
		o.Warnings = []string{note}
	}
	return o, err
}

func (f *fakeActions) SetAuto(on bool) { f.mu.Lock(); f.auto = on; f.mu.Unlock() }
func (f *fakeActions) Auto() bool      { f.mu.Lock(); defer f.mu.Unlock(); return f.auto }
func (f *fakeActions) LogSource(svc string) (LogSource, error) {
	if f.logUnit != "" {
		return LogSource{Unit: f.logUnit}, nil
	}
	return LogSource{Path: f.logPath(svc)}, nil
}

func (f *fakeActions) logPath(svc string) string {
	if f.logDir == "" {
		return ""
	}
	return filepath.Join(f.logDir, svc+".log")
}

func (f *fakeActions) got() []fakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// clock is a settable time for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newActionTest is a dashboard with fake Actions and a clock the test moves.
func newActionTest(t testing.TB, w, h int, snap *model.Snapshot) (*Model, *fakeActions, *clock) {
	t.Helper()
	fa := &fakeActions{}
	c := &clock{t: testNow.Add(time.Second)}
	m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, Title: "postdeck test", Now: c.now, Actions: fa})
	m.Update(sizeMsg(w, h))
	if snap != nil {
		m.Update(SnapshotMsg{*snap})
	}
	return m, fa, c
}

// drain runs cmd and every Cmd that follows until none is left, as the
// program would (see runCmds); each, when set, runs after every message.
func drain(t *testing.T, m *Model, cmd tea.Cmd, each func(tea.Msg)) {
	t.Helper()
	runCmds(t, m, cmd, pumpOpts{each: each, limit: 10 * time.Second})
}

// pumpOpts for runCmds: cond ends the run when it holds (nil: when no Cmd
// is left);
// each runs after every message; a run still going after limit (a Cmd that
// never returns, a condition that never holds) fails the test. How fast an
// Update is is not checked here: that is for the benchmarks (bench_test.go);
// that Update never waits for an action is shown with a gate by
// TestBulkStartOf100StaysResponsive.
type pumpOpts struct {
	cond  func() bool
	each  func(tea.Msg)
	limit time.Duration
}

// runCmds runs cmd as the program would: batches fan out into goroutines,
// every message goes back through Update (on this goroutine), and the Cmds
// Update returns run too. The dashboard's timer ticks are dropped.
func runCmds(t *testing.T, m *Model, cmd tea.Cmd, o pumpOpts) {
	t.Helper()
	ch := make(chan tea.Msg, 256)
	pending := 0
	launch := func(c tea.Cmd) {
		if c == nil {
			return
		}
		pending++
		go func() { ch <- c() }()
	}
	launch(cmd)
	deadline := time.After(o.limit)
	for {
		switch {
		case o.cond != nil && o.cond():
			return
		case pending == 0 && o.cond == nil:
			return
		case pending == 0:
			t.Fatalf("nothing left to run and the condition does not hold:\n%s", screen(m))
		}
		select {
		case msg := <-ch:
			pending--
			switch msg := msg.(type) {
			case nil, tickMsg, logTickMsg:
			case tea.BatchMsg:
				for _, c := range msg {
					launch(c)
				}
			default:
				_, next := m.Update(msg)
				if o.each != nil {
					o.each(msg)
				}
				launch(next)
			}
		case <-deadline:
			t.Fatalf("still running after %v (%d pending):\n%s", o.limit, pending, screen(m))
		}
	}
}

// pressAfterGrace presses keys once the dialog's grace period is over.
func pressAfterGrace(m *Model, c *clock, keys ...string) tea.Cmd {
	c.advance(dialogGrace)
	return press(m, keys...)
}

// actionDemo: svc0 proving, svc1 idle (safe), svc2 proof not fetched, post4
// without a service.
func actionDemo() model.Snapshot { return demo() }

// A view-only dashboard acts on nothing, and each action key says why
// when pressed instead of nothing; help lists them as off, not as keys.
func TestViewOnlyHasNoActions(t *testing.T) {
	s := demo()
	m := New(Options{Theme: themes.Dark(), Interval: 2 * time.Second, Now: func() time.Time { return testNow.Add(time.Second) },
		Reload: func() (*config.Config, []string, error) {
			t.Error("a read-only session reloaded the config")
			return nil, nil, nil
		}})
	m.Update(sizeMsg(80, 24))
	m.Update(SnapshotMsg{s})
	for _, k := range []string{"s", "x", "r", "l", "a", "A", "space", "i", "m", "M", "ctrl+r"} {
		press(m, keyName(k))
		if m.stopDialog() != nil || m.mode != modeTable || len(m.selected) > 0 || m.flow != nil {
			t.Fatalf("%q changed the screen in view-only mode", k)
		}
		lines := strings.Split(screen(m), "\n")
		footer := lines[len(lines)-1]
		if !strings.HasPrefix(footer, k+" ") || !strings.Contains(footer, ": not in a read-only session") {
			t.Errorf("%q: the footer says %q", k, footer)
		}
	}
	press(m, "?")
	v := screen(m)
	mustContain(t, flat(v), "filter", "details", "Off in this session",
		"space A s x r a i m M ctrl+r l (not in a read-only session); pressed, each says why.")
	// The help lists what works: an action it names is one this session has.
	mustNotContain(t, v, "start", "stop…", "auto proving", "add identity key", "merge nodes", "Stopping safely", "+ selected")
}

// flat is a screen's words on one line: text wrapped at the width reads
// as written.
func flat(screen string) string { return strings.Join(strings.Fields(screen), " ") }

// keyName maps "space" to the key's text.
func keyName(k string) string {
	if k == "space" {
		return " "
	}
	return k
}

func TestHelpListsActionKeys(t *testing.T) {
	s := demo()
	m, _, _ := newActionTest(t, 100, 60, &s)
	press(m, "?")
	v := screen(m)
	for _, k := range []string{"space", "select row", "A", "select all shown", "s", "start", "x", "stop…", "r", "restart",
		"l", "logs", "a", "auto proving on/off", "/", "search log", "n", "next match", "G/end", "follow the tail", "+ selected"} {
		mustContain(t, v, k)
	}
}

func TestSpaceSelectsAndEscClears(t *testing.T) {
	s := demo()
	m, _, _ := newActionTest(t, 140, 30, &s)
	press(m, " ", " ") // post0 and post1; the cursor moves down
	v := screen(m)
	mustContain(t, v, "+ post0.key", "+ post1.key", "> post2.key", "2 selected")
	press(m, "up", " ") // unselect post1; the cursor moves on to post2
	mustContain(t, screen(m), "1 selected", "+ post0.key")
	press(m, "up", "up")
	mustContain(t, screen(m), "» post0.key") // cursor on a selected row

	// esc clears the selection first, the filter only after.
	press(m, "/", "post", "enter", "A")
	mustContain(t, screen(m), "6 selected", "filter post")
	press(m, "esc")
	v = screen(m)
	mustNotContain(t, v, "selected")
	mustContain(t, v, "filter post")
	press(m, "esc")
	mustNotContain(t, screen(m), "filter post")
}

func TestStopDialogCancelIsFocusedFirst(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 120, 40, &s)
	press(m, "down", "x") // post1: idle and IDLE, safe
	v := screen(m)
	mustContain(t, v, "Stop post1.key (svc1)?", "safe to stop now", "> Cancel <", "[ Stop ]", "[ Stop when safe ]", "[ Force stop ]")
	pressAfterGrace(m, c, "enter")
	if m.stopDialog() != nil {
		t.Fatal("enter on Cancel did not close the dialog")
	}
	if calls := fa.got(); len(calls) != 0 {
		t.Errorf("Cancel made calls: %v", calls)
	}
	assertFits(t, m, 120, 40)
}

func TestStopDialogIgnoresKeysInGracePeriod(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 120, 40, &s)
	press(m, "down", "x", "tab", "enter") // typed ahead: must not stop
	if m.stopDialog() == nil {
		t.Fatal("a key in the grace period closed the dialog")
	}
	mustContain(t, screen(m), "> Cancel <")
	c.advance(dialogGrace - time.Millisecond)
	press(m, "esc")
	if m.stopDialog() == nil {
		t.Fatal("esc 399 ms after opening closed the dialog")
	}
	c.advance(time.Millisecond)
	press(m, "tab")
	mustContain(t, screen(m), "> Stop <")
	cmd := press(m, "enter")
	if m.stopDialog() != nil {
		t.Fatal("Stop did not close the dialog")
	}
	drain(t, m, cmd, nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "stop", service: "svc1", mode: model.StopIfSafe}}) {
		t.Errorf("calls %v", got)
	}
	mustContain(t, screen(m), "stopped svc1")
}

func TestStopEnabledOnlyWhenSafeAndLive(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 140, 40, &s)
	press(m, "x") // post0: proving
	v := screen(m)
	mustContain(t, v, "NOT safe to stop now", "it is proving (pass 2, 37.5% read", "[ Stop (not safe) ]")
	pressAfterGrace(m, c, "tab")
	mustContain(t, screen(m), "> Stop when safe <") // the disabled button is skipped
	press(m, "shift+tab")
	mustContain(t, screen(m), "> Cancel <")

	// The proof is fetched: the same row turns safe while the dialog is open.
	s2 := snapshotOf(ident{name: "post0.key", node: model.NodeIdle, svc: "svc0", body: `"Idle"`, units: 4})
	m.Update(SnapshotMsg{s2})
	v = screen(m)
	mustContain(t, v, "safe to stop now", "[ Stop ]")
	mustNotContain(t, v, "not safe")
	cmd := press(m, "tab", "enter")
	drain(t, m, cmd, nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "stop", service: "svc0", mode: model.StopIfSafe}}) {
		t.Errorf("calls %v", got)
	}

	// And back: a focused Stop that turns unsafe gives the focus back to Cancel.
	press(m, "x")
	pressAfterGrace(m, c, "tab")
	mustContain(t, screen(m), "> Stop <")
	m.Update(SnapshotMsg{demo()})
	mustContain(t, screen(m), "> Cancel <", "[ Stop (not safe) ]")
	press(m, "enter")
	if len(fa.got()) != 1 {
		t.Errorf("extra calls: %v", fa.got())
	}
}

func TestStopWhenSafeQueues(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 140, 40, &s)
	press(m, "down", "down", "x") // post2: proof not fetched
	mustContain(t, screen(m), "Stop post2.key (svc2)?", "its proof is finished")
	drain(t, m, pressAfterGrace(m, c, "tab", "enter"), nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "stop", service: "svc2", mode: model.StopWhenSafe}}) {
		t.Errorf("calls %v", got)
	}
	mustContain(t, screen(m), "stop queued for svc2")
}

func TestForceStopNeedsTheExactName(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 140, 40, &s)
	press(m, "x") // post0: proving
	pressAfterGrace(m, c, "tab", "tab")
	mustContain(t, screen(m), "> Force stop <")
	press(m, "enter")
	mustContain(t, screen(m), "Type post0.key and press enter to force-stop it")
	press(m, "post0", "enter")
	mustContain(t, screen(m), "that is not post0.key; nothing was stopped")
	if m.stopDialog() == nil || len(fa.got()) != 0 {
		t.Fatalf("a wrong name stopped something: %v", fa.got())
	}
	press(m, "POST0.KEY"[5:], "enter") // ".KEY": case matters
	if len(fa.got()) != 0 || m.stopDialog() == nil {
		t.Fatalf("a wrong-case name stopped something: %v", fa.got())
	}
	for range 4 {
		press(m, "backspace")
	}
	cmd := press(m, ".key", "enter")
	if m.stopDialog() != nil {
		t.Fatal("the right name did not close the dialog")
	}
	drain(t, m, cmd, nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "stop", service: "svc0", mode: model.StopForce}}) {
		t.Errorf("calls %v", got)
	}

	// esc while typing goes back to the buttons, not out.
	press(m, "x")
	pressAfterGrace(m, c, "tab", "tab", "enter", "esc")
	mustContain(t, screen(m), "> Force stop <")
}

func TestMultiRowDialog(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 140, 40, &s)
	// post0 proving, post1 safe, post2 done, post3 unreachable and no
	// process seen: not running, so safe.
	press(m, " ", " ", " ", " ")
	press(m, "x")
	v := screen(m)
	mustContain(t, v, "Stop 4 services?", "2 safe to stop now, 2 not safe",
		"✗ post0.key: it is proving", "✗ post2.key: its proof is finished",
		"> Cancel <", "[ Stop safe ones now ]", "[ Stop all when safe ]", "[ Force stop all ]")
	assertFits(t, m, 140, 40)

	drain(t, m, pressAfterGrace(m, c, "tab", "enter"), nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "stop", service: "svc1", mode: model.StopIfSafe}, {op: "stop", service: "svc3", mode: model.StopIfSafe}}) &&
		!slices.Equal(got, []fakeCall{{op: "stop", service: "svc3", mode: model.StopIfSafe}, {op: "stop", service: "svc1", mode: model.StopIfSafe}}) {
		t.Errorf("stop safe ones: calls %v", got)
	}
	mustNotContain(t, screen(m), "post3.key: its operator API")

	press(m, "x")
	pressAfterGrace(m, c, "left", "enter") // left from Cancel wraps to Force stop all
	mustContain(t, screen(m), "Type force and press enter to force-stop all of them")
	press(m, "forc", "enter")
	if len(fa.got()) != 2 {
		t.Fatalf("a wrong word forced a stop: %v", fa.got())
	}
	drain(t, m, press(m, "e", "enter"), nil)
	var forced []string
	for _, c := range fa.got()[2:] {
		if c.mode != model.StopForce {
			t.Errorf("call %v is not forced", c)
		}
		forced = append(forced, c.service)
	}
	slices.Sort(forced)
	if !slices.Equal(forced, []string{"svc0", "svc1", "svc2", "svc3"}) {
		t.Errorf("forced %v", forced)
	}
	mustContain(t, screen(m), "force-stopped 4")
}

func TestMultiRowDialogListsFirstFew(t *testing.T) {
	s := many(30) // every 7th proving
	m, fa, c := newActionTest(t, 120, 40, &s)
	press(m, "A", "x")
	v := screen(m)
	mustContain(t, v, "Stop 30 services?", "25 safe to stop now, 5 not safe", "✗ post0000.key", "✗ post0021.key", "… and 1 more not safe")
	mustNotContain(t, v, "✗ post0028.key")
	drain(t, m, pressAfterGrace(m, c, "tab", "tab", "enter"), nil) // Stop all when safe
	if got := fa.got(); len(got) != 30 || got[0].mode != model.StopWhenSafe {
		t.Errorf("stop all when safe: %d calls, first %v", len(got), got[0])
	}
	mustContain(t, screen(m), "stop queued for 30")
}

func TestPendingStopShownAndCancelled(t *testing.T) {
	s := snapshotOf(
		ident{name: "post0.key", node: model.NodeProving, svc: "svc0", units: 4, pending: true,
			body: `{"Proving":{"nonces":{"start":0,"end":128},"position":1000}}`},
		ident{name: "post1.key", node: model.NodeIdle, svc: "svc1", body: `"Idle"`},
	)
	m, fa, c := newActionTest(t, 140, 30, &s)
	v := screen(m)
	mustContain(t, v, "proving ⏸", "1 stop pending")
	press(m, "x")
	v = screen(m)
	mustContain(t, v, "a stop is pending", "> Cancel <", "[ Cancel pending stop ]", "[ Force stop ]")
	mustNotContain(t, v, "[ Stop when safe ]")
	drain(t, m, pressAfterGrace(m, c, "tab", "enter"), nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "stop", service: "svc0", mode: model.StopCancel}}) {
		t.Errorf("calls %v", got)
	}
	mustContain(t, screen(m), "pending stop cancelled for svc0")

	// Readable without colour too.
	p := New(Options{Theme: themes.Plain(), Actions: fa, Now: c.now})
	p.Update(sizeMsg(140, 30))
	p.Update(SnapshotMsg{s})
	mustContain(t, p.View().Content, "proving ⏸", "1 stop pending")
}

func TestBulkStartOf100StaysResponsive(t *testing.T) {
	s := many(100)
	m, fa, _ := newActionTest(t, 120, 30, &s)
	fa.gate = make(chan struct{})
	fa.fail = map[string]error{
		"svc0007": errors.New("already running (pid 1234)"),
		"svc0042": errors.New("bin /opt/post/post-service: permission denied"),
	}
	fa.notes = map[string]string{"svc0003": "not-on-node: the node does not know this identity"}
	press(m, "A")
	mustContain(t, screen(m), "100 selected")

	// Every Start call waits for the gate, closed until the calls run: were
	// Update to make one itself, pressing s would not return.
	pressed := make(chan tea.Cmd, 1)
	go func() { pressed <- press(m, "s") }()
	var cmd tea.Cmd
	select {
	case cmd = <-pressed:
	case <-time.After(30 * time.Second):
		t.Fatal("pressing s waits for the Start calls")
	}
	if cmd == nil {
		t.Fatal("no command for a bulk start")
	}
	fa.mu.Lock()
	began := fa.inflight + len(fa.calls)
	fa.mu.Unlock()
	if began != 0 {
		t.Fatalf("pressing s made %d Start calls itself; they belong in the command", began)
	}
	mustContain(t, screen(m), "starting 0/100…")
	// The calls block until the gate opens, which it does once every worker
	// is inside a blocked call (not after a guessed pause); below, the UI
	// answers a key halfway through the results.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			fa.mu.Lock()
			full := fa.inflight >= actionWorkers
			fa.mu.Unlock()
			if full {
				close(fa.gate)
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	seen := 0
	var mid string
	drain(t, m, cmd, func(msg tea.Msg) {
		if _, ok := msg.(actionResultMsg); ok {
			seen++
			if seen == 37 {
				mid = screen(m)
				press(m, "down") // still responsive
			}
		}
	})
	mustContain(t, mid, "starting 37/100…")
	calls := fa.got()
	if len(calls) != 100 {
		t.Fatalf("%d Start calls, want 100", len(calls))
	}
	seenSvc := map[string]bool{}
	for _, c := range calls {
		if c.op != "start" {
			t.Errorf("call %v", c)
		}
		seenSvc[c.service] = true
	}
	if len(seenSvc) != 100 {
		t.Errorf("%d distinct services started", len(seenSvc))
	}
	if fa.peak > actionWorkers {
		t.Errorf("%d calls ran at once, want ≤ %d", fa.peak, actionWorkers)
	}
	m.Update(sizeMsg(400, 30))
	v := screen(m)
	mustContain(t, v, "started 98, 2 failed: ", "svc0007: already running (pid 1234)",
		"svc0042: bin /opt/post/post-service: permission denied",
		"1 warning: svc0003: not-on-node: the node does not know this identity")
	if m.status.tone != themes.ToneDanger {
		t.Errorf("a summary with failures is not in the danger tone")
	}
}

func TestSingleActionResultAndExpiry(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 120, 30, &s)
	fa.fail = map[string]error{"svc1": errors.New("already running (pid 4321)")}
	press(m, "down")
	drain(t, m, press(m, "s"), nil)
	mustContain(t, screen(m), "could not start svc1: already running (pid 4321)")
	c.advance(errorFor + time.Second)
	v := screen(m)
	mustNotContain(t, v, "could not start")
	mustContain(t, v, "enter details") // the hints are back

	// A note (warning) from a successful start.
	fa.fail = nil
	fa.notes = map[string]string{"svc1": "not-on-node: the node does not know this identity"}
	drain(t, m, press(m, "s"), nil)
	mustContain(t, screen(m), "started svc1 — warning: not-on-node: the node does not know this identity")
	// The next action replaces it at once.
	press(m, "x")
	c.advance(dialogGrace)
	press(m, "esc")
	drain(t, m, press(m, "a"), nil)
	mustContain(t, screen(m), "automatic proving on")
	if !fa.Auto() {
		t.Error("a did not switch automatic proving on")
	}
	drain(t, m, press(m, "a"), nil)
	mustContain(t, screen(m), "automatic proving off")
}

func TestRowsWithoutServiceAreSkipped(t *testing.T) {
	s := demo()
	m, fa, _ := newActionTest(t, 160, 30, &s)
	press(m, "down", "down", "down", "down") // post4: no service
	if cmd := press(m, "s"); cmd != nil {
		t.Error("start on a row without a service returned a command")
	}
	mustContain(t, screen(m), "nothing to do: skipped post4.key (no post-service configured)")
	press(m, "x")
	if m.stopDialog() != nil {
		t.Error("stop on a row without a service opened the dialog")
	}
	press(m, " ", "up", "up", "up", "up", " ") // post4 and post1
	drain(t, m, press(m, "s"), nil)
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "start", service: "svc1"}}) {
		t.Errorf("calls %v", got)
	}
	mustContain(t, screen(m), "started svc1; skipped post4.key (no post-service configured)")
}

func TestRestartSafeAtOnceUnsafeAsks(t *testing.T) {
	s := demo()
	m, fa, c := newActionTest(t, 140, 40, &s)
	press(m, "down")
	drain(t, m, press(m, "r"), nil) // post1: safe
	if m.stopDialog() != nil {
		t.Fatal("a safe restart opened the dialog")
	}
	if got := fa.got(); !slices.Equal(got, []fakeCall{{op: "restart", service: "svc1"}}) {
		t.Errorf("calls %v", got)
	}
	mustContain(t, screen(m), "restarted svc1")

	press(m, "up", "r") // post0: proving
	v := screen(m)
	mustContain(t, v, "Restart post0.key (svc0)?", "[ Restart (not safe) ]", "[ Force restart ]")
	pressAfterGrace(m, c, "tab", "enter", "post0.key")
	drain(t, m, press(m, "enter"), nil)
	if got := fa.got()[1:]; !slices.Equal(got, []fakeCall{{op: "stop", service: "svc0", mode: model.StopForce}, {op: "start", service: "svc0"}}) {
		t.Errorf("force restart calls %v", got)
	}
}

func procDemo() model.Snapshot {
	started := testNow.Add(-(3*time.Hour + 12*time.Minute))
	return snapshotOf(
		ident{name: "post0.key", node: model.NodeProving, svc: "svc0", units: 4,
			body: `{"Proving":{"nonces":{"start":0,"end":128},"position":1000}}`,
			proc: model.ProcInfo{State: model.ProcRunning, Manager: model.ManagerPostdeck, PID: 4242, Started: started, Restarts: 2, LastExit: "exit status 1", Startable: true}},
		ident{name: "post1.key", node: model.NodeIdle, svc: "svc1", body: `"Idle"`,
			proc: model.ProcInfo{State: model.ProcRunning, Manager: model.ManagerExternal, PID: 777, Started: started}},
		ident{name: "post2.key", node: model.NodeIdle, svc: "svc2", statusErr: "connection refused",
			proc: model.ProcInfo{State: model.ProcStopped, Manager: model.ManagerPostdeck, LastExit: "killed by SIGKILL", Startable: true}},
	)
}

func TestProcessColumns(t *testing.T) {
	s := procDemo()
	m, _, _ := newActionTest(t, 160, 30, &s)
	v := screen(m)
	mustContain(t, v, "PID", "UP", "EXIT", "RST", "4242", "3h12m", "exit 1", "777 ext", "SIGKILL")
	line := lineWith(v, "post0.key")
	if !strings.Contains(line, " 2 ") {
		t.Errorf("restarts missing: %q", line)
	}
	assertFits(t, m, 160, 30)

	// At 80 columns the process columns leave first; the rest stays usable.
	m.Update(sizeMsg(80, 24))
	v = screen(m)
	mustNotContain(t, v, "PID", "EXIT", "4242")
	mustContain(t, v, "NAME", "STATE", "HEALTH", "post0.key")
	assertFits(t, m, 80, 24)

	// The detail view has all of it, also when the columns are gone.
	m.Update(sizeMsg(80, 40))
	press(m, "down", "enter")
	v = screen(m)
	mustContain(t, v, "started outside postdeck", "pid 777", "up 3h12m", "safe now: the service is idle")
	press(m, "esc")

	// A dashboard without a supervisor shows no process columns at all.
	d := demo()
	m.Update(sizeMsg(200, 30))
	m.Update(SnapshotMsg{d})
	mustNotContain(t, screen(m), "PID", "EXIT")
}

func TestProcessColumnsDropOneByOne(t *testing.T) {
	s := procDemo()
	nat, proc := naturalWidths(s.Rows), procWidths(s.Rows)
	prev := int(numProcCols)
	for w := 200; w >= 60; w-- {
		cols := layoutTable(nat, proc, w)
		n := 0
		for _, c := range cols {
			if c.proc != procNone {
				n++
			}
		}
		if n > prev {
			t.Errorf("width %d: %d process columns, more than at a wider screen", w, n)
		}
		prev = n
		if gutter+totalWidth(cols) > w && w >= 80 {
			t.Errorf("width %d: row %d wide", w, gutter+totalWidth(cols))
		}
		if n > 0 && len(cols) != int(model.NumColumns)-2+n { // -2: no LAST EPOCH without a ledger, no NODE with one node
			t.Errorf("width %d: model columns dropped while process columns stay", w)
		}
	}
	if prev != 0 {
		t.Errorf("process columns at 60 columns")
	}
}

func lineWith(v, sub string) string {
	for l := range strings.SplitSeq(v, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}

func TestHeaderShowsScheduler(t *testing.T) {
	s := demo()
	s.Scheduler = model.SchedulerStatus{Auto: true,
		Actions: []model.Action{{Kind: model.ActionStart, Service: "data03"}},
		Waits:   []model.Wait{{Service: "data04", Reason: "disk d1 is busy with data03 (max_proving_per_disk = 1)"}}}
	m, _, _ := newActionTest(t, 240, 30, &s)
	mustContain(t, screen(m), "auto on · 1 waiting · data04 waits: disk d1 is busy with data03 (max_proving_per_disk = 1) · auto: start data03")

	s.Scheduler = model.SchedulerStatus{}
	m.Update(SnapshotMsg{s})
	mustContain(t, screen(m), "auto off")
	assertFits(t, m, 240, 30)
	m.Update(sizeMsg(80, 24))
	assertFits(t, m, 80, 24)
}

func TestDialogFitsSmallScreens(t *testing.T) {
	s := many(20)
	for _, sz := range [][2]int{{80, 24}, {60, 15}, {40, 12}} {
		m, _, c := newActionTest(t, sz[0], sz[1], &s)
		press(m, "x")
		assertFits(t, m, sz[0], sz[1])
		mustContain(t, screen(m), "Cancel")
		press(m, "A", "x")
		assertFits(t, m, sz[0], sz[1])
		pressAfterGrace(m, c, "left", "enter")
		assertFits(t, m, sz[0], sz[1])
		if m.View().Cursor == nil {
			t.Errorf("%v: no cursor in the confirmation input", sz)
		}
	}
	// No escapes at all in the colourless theme, dialog included.
	fa := &fakeActions{}
	m := New(Options{Theme: themes.Plain(), Actions: fa, Now: func() time.Time { return testNow }})
	m.Update(sizeMsg(100, 30))
	m.Update(SnapshotMsg{s})
	press(m, " ", "x")
	if v := m.View().Content; strings.ContainsRune(v, '\x1b') {
		t.Fatalf("escape in colourless output: %q", v)
	}
	mustContain(t, m.View().Content, "> Cancel <")
}

func TestStaleResultIsDropped(t *testing.T) {
	s := demo()
	m, _, _ := newActionTest(t, 120, 30, &s)
	m.Update(actionResultMsg{op: 99, service: "svc0", res: result{err: fmt.Errorf("boom")}})
	mustNotContain(t, screen(m), "boom")
}
