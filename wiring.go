package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"postdeck/backend"
	"postdeck/clock"
	"postdeck/model"
)

// loadConfig reads the config file named by --config (or the default path),
// lets command-line flags override it and prints its warnings.
func loadConfig(g *globals, stderr io.Writer) (*backend.Config, error) {
	path := g.config
	if path == "" {
		path = backend.DefaultConfigPath()
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return nil, fmt.Errorf("no config at %s: run `postdeck init` to write one, pass --config FILE, or try `postdeck demo`", path)
		}
	}
	cfg, err := backend.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	applyGlobals(cfg, g)
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "postdeck: warning:", w)
	}
	return cfg, cfg.Validate()
}

// applyGlobals lets flags win over the config file.
func applyGlobals(cfg *backend.Config, g *globals) {
	if g.interval > 0 {
		cfg.Poll.Interval.Duration = g.interval
	}
	if g.timeout > 0 {
		cfg.Poll.Timeout.Duration = g.timeout
	}
	if g.theme != "" {
		cfg.UI.Theme = g.theme
	}
}

// session is the backend one dashboard or one status call works against,
// on one clock (see package clock).
type session struct {
	node   *backend.NodeClient
	poller *backend.Poller
	clock  clock.Clock
}

func openSession(cfg *backend.Config, clk clock.Clock) (*session, error) {
	node, err := backend.NewNodeClient(backend.NodeOptionsFor(cfg))
	if err != nil {
		return nil, err
	}
	ops := backend.NewOperatorClient(cfg.Poll.Timeout.Duration)
	s := &session{node: node, poller: backend.NewPoller(cfg, node, ops), clock: clk}
	if clk.Moved() {
		s.poller.AddHook(onClock(clk)) // first: every later hook sees the moved stamps
	}
	return s, nil
}

// onClock moves the stamps of a snapshot that the poller and the supervisor
// take from the machine's clock (when it was polled, when each process
// started) onto clk, so that the header's age and the UP column count from
// the clock the countdown counts from. The state files keep the machine's
// times: they outlive this process and its clock. Events keep theirs: the
// node stamps them on its own clock (a simulator on clk already).
func onClock(clk clock.Clock) func(*model.Snapshot) {
	return func(s *model.Snapshot) {
		s.At = clk.Onto(s.At)
		for i := range s.Rows {
			p := &s.Rows[i].Proc
			p.Started = clk.Onto(p.Started)
		}
	}
}

func (s *session) Close() { s.node.Close() }

// control adds the supervisor and the controller to a session, for the
// commands that start and stop services.
func (s *session) control(ctx context.Context, cfg *backend.Config, stateDir string) (*backend.Controller, error) {
	sup, err := backend.NewSupervisor(cfg, stateDir)
	if err != nil {
		return nil, err
	}
	return backend.NewController(ctx, cfg, sup, s.poller, stateDir)
}

// attachExtras attaches to s's poller what runs beside it for a dashboard or
// `postdeck serve`: the node's events (timelines, throughput), the cycle-gap
// countdown (Snapshot.Cycle on s's clock, checked with the node's NodeInfo), alerts to
// [alerts] command/webhook (logged to stateDir/alerts.log) and, when
// metricsListen is set, Prometheus metrics on it. Their hooks run in that
// order, before the controller's. Call it before s.poller.Run, with the
// context the poller runs under; stop ends them all, after the poller has
// stopped. An error (the metrics address cannot be listened on) leaves
// nothing running.
// live is what a long-lived view (the dashboard, `postdeck serve`) runs on
// a session: one controller, the extras and the poller.
type live struct {
	ctx  context.Context // ends when stop is called
	ctl  *backend.Controller
	stop func()
}

// startLive starts, in this order, the controller, the extras and the
// poller on s. stop undoes them in the one order that loses nothing: stop
// polling (no new actions), let actions under way end (they see the
// cancelled context and give up their waits), then stop the extras.
func (s *session) startLive(cfg *backend.Config, stateDir, metricsListen string) (*live, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ctl, err := s.control(ctx, cfg, stateDir)
	if err != nil {
		cancel()
		return nil, err
	}
	stopExtras, err := attachExtras(ctx, s, cfg, stateDir, metricsListen)
	if err != nil {
		cancel()
		return nil, err
	}
	polling := make(chan struct{})
	go func() { s.poller.Run(ctx); close(polling) }()
	return &live{ctx: ctx, ctl: ctl, stop: func() {
		cancel()
		<-polling
		ctl.Wait()
		stopExtras()
	}}, nil
}

func attachExtras(ctx context.Context, s *session, cfg *backend.Config, stateDir, metricsListen string) (stop func(), err error) {
	var metrics *backend.Metrics
	stopMetrics := func() {}
	if metricsListen != "" {
		metrics = backend.NewMetrics(s.poller)
		if _, stopMetrics, err = metrics.Serve(metricsListen); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	backend.AttachEvents(ctx, s.poller, s.node)

	cycle := backend.NewCycleWatcher(backend.TimingOf(&cfg.Timing), s.clock.Now)
	wg.Go(func() { cycle.AskNode(ctx, s.node, cfg.Poll.NodeTimeout.Duration) })
	s.poller.AddHook(cycle.Hook)

	if alerts := backend.NewAlerter(cfg.Alerts, stateDir); alerts.Enabled() {
		s.poller.AddHook(alerts.Hook)
		wg.Go(func() { alerts.Run(ctx) })
		if metrics != nil {
			metrics.WatchAlerts(alerts)
		}
	}
	if metrics != nil {
		s.poller.AddHook(metrics.Hook)
	}
	return func() {
		cancel()
		wg.Wait()
		stopMetrics()
	}, nil
}

// fail prints an error for the user and returns the usage/config exit code.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, "postdeck:", err)
	return 1
}

// signalContext is cancelled on Ctrl-C / SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
