package backend

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"postdeck/backend/proc"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// newSimController is a controller over a simulator (no real processes) with
// its own state folder.
func newSimController(t *testing.T, ids int) (*Controller, *Poller, []string, func(name string, st model.NodeState, body string)) {
	t.Helper()
	s := testkit.StartSim(t, ids)
	p, l := simPoller(t, s, 5*time.Second)
	state := t.TempDir()
	sup, err := proc.NewSupervisor(p.cfg, state)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c, err := NewController(ctx, p.cfg, sup, p, state)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); c.Wait() })
	var names []string
	for _, svc := range l.Services {
		names = append(names, svc.Name)
	}
	set := func(name string, st model.NodeState, body string) {
		for _, svc := range l.Services {
			if svc.Name == name {
				s.SetNodeState(svc.NodeID, st)
				s.SetOperatorBody(name, body)
			}
		}
	}
	return c, p, names, set
}

// The controller re-checks the verdict at the moment of stopping: a service
// proving for a node that wants its proof is not stopped "if safe", is
// queued "when safe" (and the queue is visible and cancellable), and an
// idle one whose process this machine does not run (it answers from
// elsewhere) is safe to stop but says there is nothing to stop.
func TestControllerStopsOnlyWhenSafe(t *testing.T) {
	c, _, names, set := newSimController(t, 2)
	ctx := context.Background()
	busy, idle := names[0], names[1]
	set(busy, model.NodeProving, `{"Proving":{"nonces":{"start":0,"end":128},"position":77}}`)
	set(idle, model.NodeIdle, `"Idle"`)

	_, err := c.Stop(ctx, busy, model.StopIfSafe)
	var unsafe *UnsafeStopError
	if !errors.As(err, &unsafe) || unsafe.Service != busy {
		t.Fatalf("stop if safe while proving: %v, want an UnsafeStopError for %s", err, busy)
	}
	o, err := c.Stop(ctx, busy, model.StopWhenSafe)
	if err != nil || o.Result != model.StopQueued || !strings.HasPrefix(o.String(), "will stop as soon as it is safe") {
		t.Fatalf("stop when safe: %+v %q %v", o, o, err)
	}
	if got := c.Pending(); !slices.Equal(got, []string{busy}) {
		t.Errorf("pending %v, want [%s]", got, busy)
	}
	if _, err := c.Stop(ctx, busy, model.StopCancel); err != nil || len(c.Pending()) != 0 {
		t.Errorf("cancel: %v, pending %v", err, c.Pending())
	}

	if _, err := c.Stop(ctx, idle, model.StopIfSafe); err == nil || !strings.Contains(err.Error(), idle+" is not running: nothing to stop") {
		t.Errorf("stop an idle service run elsewhere: %v, want it named with nothing to stop", err)
	}
}
