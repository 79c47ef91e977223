package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"postdeck/backend"
	"postdeck/backend/remote"
	"postdeck/model"
	"postdeck/themes"
)

// scripted is Actions that answers every call with one outcome: the footer
// is tested on each outcome a controller or a host can give.
type scripted struct {
	start model.StartOutcome
	stop  model.StopOutcome
	err   error
}

func (s *scripted) Start(context.Context, string) (model.StartOutcome, error) { return s.start, s.err }
func (s *scripted) Restart(context.Context, string) (model.StartOutcome, error) {
	return s.start, s.err
}
func (s *scripted) Stop(context.Context, string, model.StopMode) (model.StopOutcome, error) {
	return s.stop, s.err
}
func (s *scripted) SetAuto(bool)                        {}
func (s *scripted) Auto() bool                          { return false }
func (s *scripted) LogSource(string) (LogSource, error) { return LogSource{}, nil }

// footerAfter runs one operation on svc against a and returns the footer
// line, as the user sees it.
func footerAfter(t *testing.T, a Actions, kind opKind, mode model.StopMode, svc string) string {
	t.Helper()
	s := demo()
	m := New(Options{Theme: themes.Plain(), Interval: 2 * time.Second, Actions: a,
		Now: func() time.Time { return testNow.Add(time.Second) }})
	m.Update(sizeMsg(300, 30))
	m.Update(SnapshotMsg{s})
	drain(t, m, m.runOp(kind, mode, []string{svc}, nil), nil)
	lines := strings.Split(screen(m), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// footerSays holds when the footer starts with the sentence, whole and
// with nothing glued to it (the position and sort follow after spaces).
func footerSays(t *testing.T, foot, want string) {
	t.Helper()
	rest, ok := strings.CutPrefix(foot, want)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "  ")) {
		t.Errorf("the footer says\n  %q\nwant it to say\n  %q", foot, want)
	}
}

// footerCase is one operation on one outcome and the footer it must show.
type footerCase struct {
	name string
	kind opKind
	mode model.StopMode
	a    scripted
	want string
}

func footerCases(t *testing.T, svc string, cases []footerCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			footerSays(t, footerAfter(t, &c.a, c.kind, c.mode, svc), c.want)
		})
	}
}

// Every start, stop and restart outcome is one sentence in the footer,
// for this machine's services and a host's (host:service) alike.
func TestTheFooterSaysEachOutcomeInOneSentence(t *testing.T) {
	warn := "not-on-node: the node does not know this identity"
	proving := "it is proving (pass 1, 45.0% read): stopping throws that work away"
	footerCases(t, "data02", []footerCase{
		{"started", opStart, 0, scripted{}, "started data02"},
		{"already running", opStart, 0, scripted{start: model.StartOutcome{AlreadyRunning: true}}, "data02 already running"},
		{"started with a warning", opStart, 0, scripted{start: model.StartOutcome{Warnings: []string{warn}}}, "started data02 — warning: " + warn},
		{"running with warnings", opStart, 0, scripted{start: model.StartOutcome{AlreadyRunning: true, Warnings: []string{warn, "w2"}}},
			"data02 already running — warnings: " + warn + "; w2"},
		{"start failed", opStart, 0, scripted{err: errors.New("data02: bin /opt/post does not exist")}, "could not start data02: data02: bin /opt/post does not exist"},
		{"restarted", opRestart, 0, scripted{}, "restarted data02"},
		{"restart refused", opRestart, 0, scripted{err: &backend.UnsafeStopError{Service: "data02", Reason: proving}}, "not restarting data02: " + proving},
		{"force-restarted", opForceRestart, 0, scripted{stop: model.StopOutcome{Forced: true}}, "force-restarted data02"},
		{"force-restart of a stopped one", opForceRestart, 0, scripted{stop: model.StopOutcome{Result: model.StopNotRunning, Forced: true}},
			"data02 was not running: started it"},
		{"stopped", opStop, model.StopIfSafe, scripted{stop: model.StopOutcome{Reason: "the service is idle"}}, "stopped data02"},
		{"force-stopped", opStop, model.StopForce, scripted{stop: model.StopOutcome{Forced: true}}, "force-stopped data02"},
		{"not running", opStop, model.StopWhenSafe, scripted{stop: model.StopOutcome{Result: model.StopNotRunning, Reason: "the service is not running"}},
			"data02 is not running: nothing to stop"},
		{"queued", opStop, model.StopWhenSafe, scripted{stop: model.StopOutcome{Result: model.StopQueued, Reason: proving}},
			"stop queued for data02: stops when it is safe — now " + proving},
		{"cancelled", opStop, model.StopCancel, scripted{stop: model.StopOutcome{Result: model.StopCancelled}},
			"pending stop cancelled for data02: it keeps running"},
		{"refused", opStop, model.StopIfSafe, scripted{err: &backend.UnsafeStopError{Service: "data02", Reason: proving}},
			"not stopping data02: " + proving + " — stop it when safe, or force it"},
	})
}

// A host's row: the host's verdict and refusals, worded once, under the
// row's host:service name.
func TestTheFooterSaysAHostsOutcomes(t *testing.T) {
	proving := "it is proving (pass 1, 45.0% read): stopping throws that work away"
	footerCases(t, "rig2:data05", []footerCase{
		{"started", opStart, 0, scripted{start: model.StartOutcome{AlreadyRunning: true}}, "rig2:data05 already running"},
		{"not running", opStop, model.StopIfSafe, scripted{stop: model.StopOutcome{Result: model.StopNotRunning}}, "rig2:data05 is not running: nothing to stop"},
		{"refused by its rule", opStop, model.StopIfSafe, scripted{err: &remote.RefusedError{Host: "rig2", Service: "data05", Unsafe: true, Reason: proving,
			Message: "not stopping data05: " + proving + " (stop it when safe, or force it)"}},
			"not stopping rig2:data05: " + proving + " — stop it when safe, or force it"},
		{"refused by an older host", opStop, model.StopIfSafe, scripted{err: &remote.RefusedError{Host: "rig2", Service: "data05", Unsafe: true,
			Message: "not stopping data05: busy"}}, "could not stop rig2:data05: not stopping data05: busy"},
		{"a read-only key", opStart, 0, scripted{err: &remote.RefusedError{Host: "rig2", Service: "data05", ReadOnly: true,
			Message: "this key is read-only on rig2: it may watch and read logs, not start"}},
			"could not start rig2:data05: this key is read-only on rig2: it may watch and read logs, not start"},
		{"the host is down", opRestart, 0, scripted{err: &remote.RefusedError{Host: "rig2", Message: "the host does not answer now (see its rows); try again once it does"}},
			"could not restart rig2:data05: the host does not answer now (see its rows); try again once it does"},
	})
}

// A bulk operation's summary counts what needed nothing apart and names
// the refusals in the same words.
func TestABulkSummaryCountsTheUnchanged(t *testing.T) {
	a := &scripted{stop: model.StopOutcome{Result: model.StopNotRunning}}
	s := demo()
	m := New(Options{Theme: themes.Plain(), Interval: 2 * time.Second, Actions: a,
		Now: func() time.Time { return testNow.Add(time.Second) }})
	m.Update(sizeMsg(300, 30))
	m.Update(SnapshotMsg{s})
	drain(t, m, m.runOp(opStop, model.StopIfSafe, []string{"svc0", "svc1"}, nil), nil)
	mustContain(t, screen(m), "stopped 2 (2 not running)")
	a.err = &backend.UnsafeStopError{Service: "svc0", Reason: "it is proving"}
	drain(t, m, m.runOp(opStop, model.StopIfSafe, []string{"svc0", "svc1"}, nil), nil)
	mustContain(t, screen(m), "stopped 0, 2 failed: not stopping svc", // in the order they come back
		"not stopping svc0: it is proving — stop it when safe, or force it", "not stopping svc1: it is proving — stop it when safe, or force it")
}
