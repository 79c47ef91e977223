package backend

import (
	"fmt"
	"math"
	"sync"
	"time"

	"postdeck/model"
)

// Automatic proving holds a failing service off with a delay that doubles
// from startRetry up to maxStartRetry; a start counts as failed when the
// process is gone within earlyExit of starting.
const (
	startRetry    = 30 * time.Second
	maxStartRetry = 10 * time.Minute
	earlyExit     = 2 * time.Minute
)

// holds keeps automatic proving away from services it must not start now:
// one whose start failed, or that died soon after starting, waits with a
// growing delay (so a broken service is not restarted every cycle); one the
// user stopped by hand waits until the user starts it again or the node no
// longer wants a proof from it. It is safe for concurrent use.
type holds struct {
	mu      sync.Mutex
	failed  map[string]failure
	manual  map[string]bool
	started map[string]time.Time // automatic starts not yet known to have stuck
}

type failure struct {
	until time.Time
	err   string
	count int
}

func newHolds() *holds {
	return &holds{failed: map[string]failure{}, manual: map[string]bool{}, started: map[string]time.Time{}}
}

// reasons lists the held services with why, for the scheduler.
func (h *holds) reasons(now time.Time) map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]string{}
	for name := range h.manual {
		out[name] = "stopped by hand: start it (s) to hand it back to automatic proving"
	}
	for name, f := range h.failed {
		if now.Before(f.until) {
			out[name] = fmt.Sprintf("%s (retrying in %ds)", f.err, int(math.Ceil(f.until.Sub(now).Seconds())))
		}
	}
	return out
}

// autoStarted records the outcome of an automatic start.
func (h *holds) autoStarted(name string, err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.fail(name, "start failed: "+err.Error(), now)
		return
	}
	h.started[name] = now
}

// fail holds name off for twice as long as last time; h.mu must be held.
func (h *holds) fail(name, why string, now time.Time) {
	f := h.failed[name]
	f.count++
	delay := startRetry << min(f.count-1, 8)
	f.until, f.err = now.Add(min(delay, maxStartRetry)), why
	h.failed[name] = f
}

// stopped forgets an automatic start that postdeck itself ended: its
// process going away is no early exit.
func (h *holds) stopped(name string) {
	h.mu.Lock()
	delete(h.started, name)
	h.mu.Unlock()
}

// userStopped holds a service the user stopped; userStarted releases it and
// forgets its failures: the user takes responsibility.
func (h *holds) userStopped(name string) {
	h.mu.Lock()
	h.manual[name] = true
	h.mu.Unlock()
}

func (h *holds) userStarted(name string) {
	h.mu.Lock()
	delete(h.manual, name)
	delete(h.failed, name)
	h.mu.Unlock()
}

// observe updates the holds from a snapshot: an automatic start whose process
// is gone soon after counts as a failure, one that stayed up clears the
// failure count, and a hand stop ends once the node is IDLE for it.
func (h *holds) observe(rows []model.Row, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range rows {
		r := &rows[i]
		if r.NodeState == model.NodeIdle {
			delete(h.manual, r.Service)
		}
		at, ok := h.started[r.Service]
		switch {
		case !ok:
		case r.Proc.State == model.ProcStopped:
			delete(h.started, r.Service)
			h.fail(r.Service, fmt.Sprintf("exited %s after starting (%s): see its log", now.Sub(at).Round(time.Second), orUnknown(r.Proc.LastExit)), now)
		case now.Sub(at) > earlyExit:
			delete(h.started, r.Service)
			delete(h.failed, r.Service)
		}
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "status unknown"
	}
	return s
}
