package backend

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"postdeck/model"
)

// UnsafeStopError is a refused stop: the verdict, re-checked at the moment of
// stopping, was unsafe.
type UnsafeStopError struct {
	Service string
	Reason  string
}

func (e *UnsafeStopError) Error() string {
	return fmt.Sprintf("not stopping %s: %s (stop it when safe, or force it)", e.Service, e.Reason)
}

// Controller carries out what the user and automatic proving decide: it
// starts and stops post-services through the supervisor, never stopping one
// unsafely unless forced, keeps the queue of stops to run "when safe", and
// runs the scheduler on every snapshot.
type Controller struct {
	cfg     *Config
	sup     *Supervisor
	poller  *Poller
	pending *PendingStops
	limits  model.Limits
	auto    atomic.Bool

	ctx      context.Context // background actions end with it
	bg       sync.WaitGroup
	mu       sync.Mutex
	inflight map[string]bool         // services with an action under way
	failed   map[string]startFailure // automatic starts that failed, held off for a while
}

// startFailure holds automatic proving off a service whose start failed, so
// a broken service is not started again every cycle.
type startFailure struct {
	until time.Time
	err   string
}

// startRetry is how long automatic proving waits after a failed start.
const startRetry = 30 * time.Second

// NewController wires itself into poller: every cycle's services get their
// process, disk and pending-stop facts, and every snapshot is shown to the
// scheduler and the pending-stop queue before it is published. Background
// actions stop being started when ctx ends.
func NewController(ctx context.Context, cfg *Config, sup *Supervisor, poller *Poller, stateDir string) (*Controller, error) {
	pending, err := LoadPendingStops(stateDir)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		cfg: cfg, sup: sup, poller: poller, pending: pending, ctx: ctx,
		limits:   model.Limits{MaxPerDisk: cfg.Proving.MaxPerDisk, MaxTotal: cfg.Proving.MaxTotal},
		inflight: map[string]bool{},
		failed:   map[string]startFailure{},
	}
	c.auto.Store(cfg.Proving.Auto)
	poller.SetDecorator(c.decorate)
	poller.SetHook(c.onSnapshot)
	return c, nil
}

// Wait blocks until background actions (pending stops, scheduler actions)
// have finished.
func (c *Controller) Wait() { c.bg.Wait() }

// decorate adds the supervisor's facts and the pending queue to observations.
func (c *Controller) decorate(obs []model.ServiceObs) {
	procs := c.sup.Procs()
	for i := range obs {
		o := &obs[i]
		o.Proc = procs[o.Name]
		o.Disk = c.sup.Disk(o.Name)
		o.PendingStop = c.pending.Has(o.Name)
	}
}

// onSnapshot runs in the poller's goroutine: it only decides and hands the
// work to background goroutines, each re-checking before it acts.
func (c *Controller) onSnapshot(s *model.Snapshot) {
	for i := range s.Rows {
		r := &s.Rows[i]
		if service := r.Service; r.PendingStop && model.StopVerdict(r).Safe {
			c.background(service, func(ctx context.Context) { c.firePending(ctx, service) })
		}
	}
	if !c.auto.Load() {
		s.ApplySchedule(model.SchedulerStatus{})
		return
	}
	st := c.holdFailed(model.Schedule(s.Rows, c.limits))
	s.ApplySchedule(st)
	for _, a := range st.Actions {
		switch a.Kind {
		case model.ActionStart:
			c.background(a.Service, func(ctx context.Context) { c.autoStart(ctx, a.Service) })
		case model.ActionStop:
			c.background(a.Service, func(ctx context.Context) { c.Stop(ctx, a.Service, model.StopIfSafe) })
		}
	}
}

// background runs f for service unless an action for it is under way.
func (c *Controller) background(service string, f func(context.Context)) {
	c.mu.Lock()
	if c.inflight[service] || c.ctx.Err() != nil {
		c.mu.Unlock()
		return
	}
	c.inflight[service] = true
	c.mu.Unlock()
	c.bg.Go(func() {
		defer func() {
			c.mu.Lock()
			delete(c.inflight, service)
			c.mu.Unlock()
		}()
		f(c.ctx)
	})
}

// holdFailed turns the starts of services whose last automatic start failed
// recently into waits that say why.
func (c *Controller) holdFailed(st model.SchedulerStatus) model.SchedulerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	actions := st.Actions[:0:0]
	for _, a := range st.Actions {
		f, ok := c.failed[a.Service]
		if a.Kind != model.ActionStart || !ok || now.After(f.until) {
			actions = append(actions, a)
			continue
		}
		st.Waits = append(st.Waits, model.Wait{Service: a.Service, Failed: true,
			Reason: fmt.Sprintf("start failed: %s (retrying in %ds)", f.err, int(f.until.Sub(now).Seconds())+1)})
	}
	st.Actions = actions
	return st
}

// autoStart starts a service for automatic proving and remembers a failure.
func (c *Controller) autoStart(ctx context.Context, service string) {
	err := c.sup.Start(ctx, service)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		c.failed[service] = startFailure{until: time.Now().Add(startRetry), err: err.Error()}
		return
	}
	delete(c.failed, service)
}

// firePending stops a queued service if the fresh verdict is safe.
func (c *Controller) firePending(ctx context.Context, service string) {
	if _, err := c.Stop(ctx, service, model.StopIfSafe); err == nil {
		c.pending.Remove(service)
	}
}

// Start launches a service. The note warns when the node does not know the
// identity (it will refuse the service's connection).
func (c *Controller) Start(ctx context.Context, service string) (string, error) {
	if err := c.sup.Start(ctx, service); err != nil {
		return "", err
	}
	if r, ok := c.latestRow(service); ok && hasHealth(r, model.HealthNotOnNode) {
		return "started; warning: not-on-node: the node does not know this identity, so it will refuse the service until its key is in identities/ and the node restarted", nil
	}
	return "started", nil
}

// Stop stops a service as mode says. The verdict is re-checked afresh, at
// the moment of stopping, not taken from the snapshot the user looked at.
func (c *Controller) Stop(ctx context.Context, service string, mode model.StopMode) (string, error) {
	switch mode {
	case model.StopCancel:
		return "pending stop cancelled", c.pending.Remove(service)
	case model.StopForce:
		c.pending.Remove(service)
		return "stopped (forced)", c.sup.Stop(ctx, service)
	}
	r, err := c.poller.PollService(ctx, service)
	if err != nil {
		return "", err
	}
	v := model.StopVerdict(&r)
	if !v.Safe {
		if mode == model.StopWhenSafe {
			if err := c.pending.Add(service); err != nil {
				return "", err
			}
			return "will stop as soon as it is safe; now " + v.Reason, nil
		}
		return "", &UnsafeStopError{Service: service, Reason: v.Reason}
	}
	if !r.Running() {
		c.pending.Remove(service)
		return "not running", nil
	}
	if err := c.sup.Stop(ctx, service); err != nil {
		return "", err
	}
	c.pending.Remove(service)
	return "stopped: " + v.Reason, nil
}

// Restart stops a service (only if safe now) and starts it again.
func (c *Controller) Restart(ctx context.Context, service string) (string, error) {
	if _, err := c.Stop(ctx, service, model.StopIfSafe); err != nil {
		return "", err
	}
	return c.Start(ctx, service)
}

// SetAuto turns automatic proving on or off.
func (c *Controller) SetAuto(on bool) { c.auto.Store(on) }

// Auto reports whether automatic proving is on.
func (c *Controller) Auto() bool { return c.auto.Load() }

// LogPath is where the supervisor writes the service's output.
func (c *Controller) LogPath(service string) string { return c.sup.LogPath(service) }

// LogTail returns the last n lines of the service's log.
func (c *Controller) LogTail(service string, n int) []string { return c.sup.LogTail(service, n) }

// Pending lists the services with a queued stop.
func (c *Controller) Pending() []string { return c.pending.Names() }

func (c *Controller) latestRow(service string) (*model.Row, bool) {
	s, ok := c.poller.Latest()
	if !ok {
		return nil, false
	}
	for i := range s.Rows {
		if s.Rows[i].Service == service {
			return &s.Rows[i], true
		}
	}
	return nil, false
}

func hasHealth(r *model.Row, h model.Health) bool {
	for _, x := range r.Health {
		if x == h {
			return true
		}
	}
	return false
}
