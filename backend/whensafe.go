package backend

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"postdeck/model"
)

// SafeStopStep says what StopAllWhenSafe did for one service.
type SafeStopStep int

const (
	// SafeStopDone: stopped (or found not running); Outcome says which.
	SafeStopDone SafeStopStep = iota
	// SafeStopFailed: the stop could not be queued or carried out; Err says why.
	SafeStopFailed
	// SafeStopWaiting: not safe yet; Reason says why. Told again only when
	// the reason changes.
	SafeStopWaiting
	// SafeStopCancelled: ctx ended first; the queued stop was dropped and
	// the service keeps running, for the last Reason.
	SafeStopCancelled
)

// SafeStopEvent is one report of StopAllWhenSafe.
type SafeStopEvent struct {
	Service string
	Step    SafeStopStep
	Outcome model.StopOutcome
	Reason  string
	Err     error
}

// StopAllWhenSafe queues a stop of every service — so a dashboard sees the
// queue too, and fires it if it is quicker — and, checking every interval,
// waits until each is stopped, telling report each step. When ctx ends
// first, the stops still queued are dropped and the services left running.
// It returns whether every service stopped.
func (c *Controller) StopAllWhenSafe(ctx context.Context, services []string, every time.Duration, report func(SafeStopEvent)) bool {
	ok := true
	waiting := map[string]string{} // service → the reason it is not safe yet
	for _, n := range services {
		o, err := c.Stop(ctx, n, model.StopWhenSafe)
		switch {
		case err != nil:
			ok = false
			report(SafeStopEvent{Service: n, Step: SafeStopFailed, Err: err})
		case o.Result == model.StopQueued: // queued, not stopped: wait for it
			waiting[n] = ""
		default:
			report(SafeStopEvent{Service: n, Step: SafeStopDone, Outcome: o})
		}
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ok = c.checkWaiting(ctx, waiting, report) && ok
		if len(waiting) == 0 {
			return ok
		}
		select {
		case <-ctx.Done():
			for _, n := range slices.Sorted(maps.Keys(waiting)) {
				c.Stop(context.Background(), n, model.StopCancel)
				report(SafeStopEvent{Service: n, Step: SafeStopCancelled, Reason: waiting[n]})
			}
			return false
		case <-t.C:
		}
	}
}

// checkWaiting tries once to stop each waiting service if safe, dropping
// the ones done with from waiting. It returns false when one failed.
func (c *Controller) checkWaiting(ctx context.Context, waiting map[string]string, report func(SafeStopEvent)) bool {
	ok := true
	for _, n := range slices.Sorted(maps.Keys(waiting)) {
		o, err := c.Stop(ctx, n, model.StopIfSafe)
		var unsafe *UnsafeStopError
		switch {
		case errors.As(err, &unsafe):
			if unsafe.Reason != waiting[n] {
				report(SafeStopEvent{Service: n, Step: SafeStopWaiting, Reason: unsafe.Reason})
				waiting[n] = unsafe.Reason
			}
			continue
		case err != nil:
			ok = false
			report(SafeStopEvent{Service: n, Step: SafeStopFailed, Err: err})
		default:
			report(SafeStopEvent{Service: n, Step: SafeStopDone, Outcome: o})
		}
		delete(waiting, n)
	}
	return ok
}
