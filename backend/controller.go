package backend

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/model"
)

// UnsafeStopError is a refused stop: the verdict, re-checked at the moment of
// stopping, was unsafe.
type UnsafeStopError struct {
	Service string
	Reason  string
}

// UnsafeStop marks the error for those that cannot name the type (the
// SSH server's machine channel).
func (e *UnsafeStopError) UnsafeStop() {}

// StopReason is the verdict's reason, for those that word the refusal
// themselves (the dashboard's footer, the machine channel's reply).
func (e *UnsafeStopError) StopReason() string { return e.Reason }

func (e *UnsafeStopError) Error() string {
	return fmt.Sprintf("not stopping %s: %s (stop it when safe, or force it)", e.Service, e.Reason)
}

// Controller carries out what the user and automatic proving decide: it
// starts and stops post-services through the supervisor, never stopping one
// unsafely unless forced, keeps the queue of stops to run "when safe", and
// runs the scheduler on every snapshot. Every error of a start, stop or
// restart names its service (the supervisor's all do), so callers print it
// as it is.
type Controller struct {
	cfg     *config.Config
	sup     *proc.Supervisor
	poller  *Poller
	pending *PendingStops
	limits  model.Limits
	auto    atomic.Bool

	ctx      context.Context // background actions end with it
	bg       sync.WaitGroup
	mu       sync.Mutex
	holds    *holds
	inflight map[string]bool // services with an action under way
}

// NewController wires itself into poller: every cycle's services get their
// process, disk and pending-stop facts, and every snapshot is shown to the
// scheduler and the pending-stop queue before it is published. Background
// actions stop being started when ctx ends.
func NewController(ctx context.Context, cfg *config.Config, sup *proc.Supervisor, poller *Poller, stateDir string) (*Controller, error) {
	pending, err := LoadPendingStops(stateDir)
	if err != nil {
		return nil, err
	}
	c := &Controller{
		cfg: cfg, sup: sup, poller: poller, pending: pending, ctx: ctx,
		limits:   model.Limits{MaxPerDisk: cfg.Proving.MaxPerDisk, MaxTotal: cfg.Proving.MaxTotal},
		inflight: map[string]bool{},
		holds:    newHolds(),
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
	c.pending.Refresh() // another postdeck may have queued or dropped a stop
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
	now := time.Now()
	c.holds.observe(s.Rows, now)
	if !c.auto.Load() {
		s.ApplySchedule(model.SchedulerStatus{})
		return
	}
	st := model.Schedule(s.Rows, c.limits, c.holds.reasons(now), s.Plan)
	s.ApplySchedule(st)
	for _, a := range st.Actions {
		switch a.Kind {
		case model.ActionStart:
			c.background(a.Service, func(ctx context.Context) {
				err := c.sup.Start(ctx, a.Service)
				if ctx.Err() == nil {
					c.holds.autoStarted(a.Service, err, time.Now())
				}
			})
		case model.ActionStop:
			c.background(a.Service, func(ctx context.Context) { c.stop(ctx, a.Service, model.StopIfSafe) })
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

// firePending stops a queued service if the fresh verdict is safe.
func (c *Controller) firePending(ctx context.Context, service string) {
	if _, err := c.stop(ctx, service, model.StopIfSafe); err == nil {
		c.pending.Remove(service)
	}
}

// Start launches a service, and hands it back to automatic proving if it was
// held. The note warns when the node does not know the identity (it will
// refuse the service's connection): checked afresh, as the CLI has no
// snapshot.
func (c *Controller) Start(ctx context.Context, service string) (model.StartOutcome, error) {
	c.holds.userStarted(service)
	var o model.StartOutcome
	// Starting what runs is what the user wanted done: a success, so that
	// `postdeck start` can make sure a service runs.
	if err := c.sup.Start(ctx, service); errors.Is(err, proc.ErrAlreadyRunning) {
		o.AlreadyRunning = true
	} else if err != nil {
		return model.StartOutcome{}, err
	}
	if r, err := c.poller.PollService(ctx, service); err == nil && r.Has(model.HealthNotOnNode) {
		o.Warnings = append(o.Warnings, notOnNodeWarning)
	}
	return o, nil
}

// notOnNodeWarning is a start's warning when the node does not know the
// identity.
const notOnNodeWarning = "not-on-node: the node does not know this identity, so it will refuse the service until its key is in identities/ and the node restarted"

// Stop stops a service as the user asked (mode). A service the user stopped
// is held from automatic proving until the user starts it again.
func (c *Controller) Stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error) {
	o, err := c.stop(ctx, service, mode)
	if err == nil && mode != model.StopCancel && mode != model.StopWhenSafe {
		c.holds.userStopped(service)
	}
	return o, err
}

// stop stops a service as mode says. The verdict is re-checked afresh, at
// the moment of stopping, not taken from the snapshot the user looked at.
func (c *Controller) stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error) {
	switch mode {
	case model.StopCancel:
		if err := c.pending.Remove(service); err != nil {
			return model.StopOutcome{}, fmt.Errorf("%s: %w", service, err)
		}
		return model.StopOutcome{Result: model.StopCancelled}, nil
	case model.StopForce:
		c.pending.Remove(service)
		c.holds.stopped(service)
		if err := c.sup.Stop(ctx, service); errors.Is(err, proc.ErrNotRunning) {
			return model.StopOutcome{Result: model.StopNotRunning, Forced: true}, nil
		} else if err != nil {
			return model.StopOutcome{}, err
		}
		return model.StopOutcome{Result: model.StopDone, Forced: true}, nil
	}
	r, err := c.poller.PollService(ctx, service)
	if err != nil {
		return model.StopOutcome{}, err
	}
	v := model.StopVerdict(&r)
	if !v.Safe {
		if mode == model.StopWhenSafe {
			if err := c.pending.Add(service); err != nil {
				return model.StopOutcome{}, fmt.Errorf("%s: %w", service, err)
			}
			return model.StopOutcome{Result: model.StopQueued, Reason: v.Reason}, nil
		}
		return model.StopOutcome{}, &UnsafeStopError{Service: service, Reason: v.Reason}
	}
	if !r.Running() {
		c.pending.Remove(service)
		return model.StopOutcome{Result: model.StopNotRunning, Reason: v.Reason}, nil
	}
	if err := c.sup.Stop(ctx, service); err != nil {
		return model.StopOutcome{}, err
	}
	c.holds.stopped(service)
	c.pending.Remove(service)
	return model.StopOutcome{Result: model.StopDone, Reason: v.Reason}, nil
}

// Restart stops a service (only if safe now, unless force) and starts it again.
func (c *Controller) Restart(ctx context.Context, service string) (model.StartOutcome, error) {
	return c.restart(ctx, service, model.StopIfSafe)
}

// ForceRestart stops a service regardless of the verdict and starts it again.
func (c *Controller) ForceRestart(ctx context.Context, service string) (model.StartOutcome, error) {
	return c.restart(ctx, service, model.StopForce)
}

func (c *Controller) restart(ctx context.Context, service string, mode model.StopMode) (model.StartOutcome, error) {
	if _, err := c.stop(ctx, service, mode); err != nil {
		return model.StartOutcome{}, err
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

// FollowLog writes what the service logs from now on until ctx ends.
func (c *Controller) FollowLog(ctx context.Context, service string, w io.Writer) error {
	return c.sup.FollowLog(ctx, service, w)
}

// Pending lists the services with a queued stop.
func (c *Controller) Pending() []string { return c.pending.Names() }

// LogSource says where the service's log is (see Supervisor.LogSource).
func (c *Controller) LogSource(service string) (proc.LogSource, error) {
	return c.sup.LogSource(service)
}

// PrintLog is `postdeck logs` (see Supervisor.PrintLog).
func (c *Controller) PrintLog(ctx context.Context, w io.Writer, service string, n int, follow bool) error {
	return c.sup.PrintLog(ctx, w, service, n, follow)
}
