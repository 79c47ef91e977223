package common

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"postdeck/backend"
	"postdeck/clock"
	"postdeck/model"
)

// LoadConfig reads the config file named by --config (or the default path),
// lets command-line flags override it and prints its warnings.
func LoadConfig(g *Common, stderr io.Writer) (*backend.Config, error) {
	path := g.Config
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
	ApplyGlobals(cfg, g)
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, "postdeck: warning:", w)
	}
	return cfg, cfg.Validate()
}

// ApplyGlobals lets flags win over the config file.
func ApplyGlobals(cfg *backend.Config, g *Common) {
	if g.Interval > 0 {
		cfg.Poll.Interval.Duration = g.Interval
	}
	if g.Timeout > 0 {
		cfg.Poll.Timeout.Duration = g.Timeout
	}
	if g.Theme != "" {
		cfg.UI.Theme = g.Theme
	}
}

// Session is the backend one dashboard or one status call works against,
// on one clock (see package clock).
type Session struct {
	Node   *backend.NodeClient
	Poller *backend.Poller
	Clock  clock.Clock
}

func OpenSession(cfg *backend.Config, clk clock.Clock) (*Session, error) {
	node, err := backend.NewNodeClient(backend.NodeOptionsFor(cfg))
	if err != nil {
		return nil, err
	}
	ops := backend.NewOperatorClient(cfg.Poll.Timeout.Duration)
	s := &Session{Node: node, Poller: backend.NewPoller(cfg, node, ops), Clock: clk}
	if clk.Moved() {
		s.Poller.AddHook(onClock(clk)) // first: every later hook sees the moved stamps
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

func (s *Session) Close() { s.Node.Close() }

// Control adds the supervisor and the controller to a session, for the
// commands that start and stop services.
func (s *Session) Control(ctx context.Context, cfg *backend.Config, stateDir string) (*backend.Controller, error) {
	sup, err := backend.NewSupervisor(cfg, stateDir)
	if err != nil {
		return nil, err
	}
	return backend.NewController(ctx, cfg, sup, s.Poller, stateDir)
}

// attachExtras attaches to s's poller what runs beside it for a dashboard or
// `postdeck serve`: the node's events (timelines, throughput), the cycle-gap
// countdown (Snapshot.Cycle on s's clock, checked with the node's NodeInfo), alerts to
// [alerts] command/webhook (logged to stateDir/alerts.log) and, when
// metricsListen is set, Prometheus metrics on it. Their hooks run in that
// order, before the controller's. Call it before s.Poller.Run, with the
// context the poller runs under; stop ends them all, after the poller has
// stopped. An error (the metrics address cannot be listened on) leaves
// nothing running.
// Live is what a long-lived view (the dashboard, `postdeck serve`) runs on
// a session: one controller, the extras and the poller.
type Live struct {
	Ctx  context.Context // ends when Stop is called
	Ctl  *backend.Controller
	Stop func()
}

// StartLive starts, in this order, the controller, the extras and the
// poller on s. stop undoes them in the one order that loses nothing: stop
// polling (no new actions), let actions under way end (they see the
// cancelled context and give up their waits), then stop the extras.
func (s *Session) StartLive(cfg *backend.Config, stateDir, metricsListen string) (*Live, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ctl, err := s.Control(ctx, cfg, stateDir)
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
	go func() { s.Poller.Run(ctx); close(polling) }()
	return &Live{Ctx: ctx, Ctl: ctl, Stop: func() {
		cancel()
		<-polling
		ctl.Wait()
		stopExtras()
	}}, nil
}

func attachExtras(ctx context.Context, s *Session, cfg *backend.Config, stateDir, metricsListen string) (stop func(), err error) {
	var metrics *backend.Metrics
	stopMetrics := func() {}
	if metricsListen != "" {
		metrics = backend.NewMetrics(s.Poller)
		if _, stopMetrics, err = metrics.Serve(metricsListen); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	backend.AttachEvents(ctx, s.Poller, s.Node)

	cycle := backend.NewCycleWatcher(backend.TimingOf(&cfg.Timing), s.Clock.Now)
	wg.Go(func() { cycle.AskNode(ctx, s.Node, cfg.Poll.NodeTimeout.Duration) })
	s.Poller.AddHook(cycle.Hook)

	if alerts := backend.NewAlerter(cfg.Alerts, stateDir); alerts.Enabled() {
		s.Poller.AddHook(alerts.Hook)
		wg.Go(func() { alerts.Run(ctx) })
		if metrics != nil {
			metrics.WatchAlerts(alerts)
		}
	}
	if metrics != nil {
		s.Poller.AddHook(metrics.Hook)
	}
	return func() {
		cancel()
		wg.Wait()
		stopMetrics()
	}, nil
}
