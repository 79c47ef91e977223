package common

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"postdeck/backend"
	"postdeck/backend/alerts"
	"postdeck/backend/config"
	"postdeck/backend/ledger"
	"postdeck/backend/metrics"
	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/backend/proc"
	"postdeck/backend/remote"
	"postdeck/clock"
	"postdeck/model"
	"postdeck/version"
)

// LoadConfig reads the config file named by --config (or the default path),
// lets command-line flags override it and prints its warnings.
func LoadConfig(g *Common, stderr io.Writer) (*config.Config, error) {
	path := g.Config
	if path == "" {
		path = config.DefaultPath()
		if _, err := os.Stat(path); os.IsNotExist(err) {
			return nil, fmt.Errorf("no config at %s: run `postdeck init` to write one, pass --config FILE, or try `postdeck demo`", path)
		}
	}
	cfg, err := config.Load(path)
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
func ApplyGlobals(cfg *config.Config, g *Common) {
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

// Session is the backend one command works against, on one clock (see
// package clock). Every command opens it the same way and in the same
// order — node client, operator client, poller, then, as the command
// needs, the controller (Control), the extras (Extras) and polling in the
// background (Run) — and Close undoes all of it in the one order that
// loses nothing.
type Session struct {
	// Node is the client of the config's first node; MoreNodes of the
	// others, in the config's order.
	Node      *nodeapi.Client
	MoreNodes []*nodeapi.Client
	// Hosts watch the config's [[host]]s' postdeck serve over SSH, from
	// OpenSession until Close; their rows join every snapshot.
	Hosts  []*remote.Host
	Poller *backend.Poller
	Clock  clock.Clock
	// Planner fills each snapshot's deadline plan; set by Extras. The epoch
	// ledger feeds it measured proofs (SetMeasures).
	Planner *backend.Planner
	// History keeps the epoch ledger (ledger.sqlite in the state folder)
	// and decorates each snapshot from it; set by Extras. Its Ledger is
	// nil when the file could not be opened (the snapshots say why).
	History *backend.HistoryKeeper
	// Ctx ends when Close is called: the controller's background actions
	// and a program showing the session end with it.
	Ctx context.Context

	cfg        *config.Config
	cancel     context.CancelFunc
	ctl        *backend.Controller
	stopExtras func()
	polling    chan struct{} // closed when Run's poller returns; nil before Run
	hostsDone  sync.WaitGroup
	unsubs     []func()
	closed     bool
}

// OpenSession opens the node client, the operator client and the poller
// for cfg, all on clk.
func OpenSession(cfg *config.Config, clk clock.Clock) (*Session, error) {
	node, err := nodeapi.NewClient(nodeapi.OptionsFor(cfg))
	if err != nil {
		return nil, err
	}
	var more []*nodeapi.Client
	for i := range cfg.MoreNodes {
		c, err := nodeapi.NewClient(nodeapi.OptionsForNode(cfg, &cfg.MoreNodes[i]))
		if err != nil {
			node.Close()
			for _, m := range more {
				m.Close()
			}
			return nil, fmt.Errorf("node %q: %w", cfg.MoreNodes[i].Name, err)
		}
		more = append(more, c)
	}
	ops := operator.NewClient(cfg.Poll.Timeout.Duration)
	ctx, cancel := context.WithCancel(context.Background())
	s := &Session{Node: node, MoreNodes: more, Poller: backend.NewPoller(cfg, node, ops), Clock: clk, Ctx: ctx, cfg: cfg, cancel: cancel}
	s.Poller.SetNodeClients(more)
	s.watchHosts(cfg)
	if clk.Moved() {
		s.Poller.AddHook(onClock(clk)) // first: every later hook sees the moved stamps
	}
	return s, nil
}

// Config is the config the session was opened on.
func (s *Session) Config() *config.Config { return s.cfg }

// watchHosts starts the watch of every [[host]] and merges their parts
// into the poller's snapshots.
func (s *Session) watchHosts(cfg *config.Config) {
	for _, hc := range cfg.Hosts {
		// The machine's clock, as the host's stamps are: the onClock hook
		// moves its rows' times with this machine's.
		h := remote.New(hc, remote.Options{Version: version.String()})
		s.Hosts = append(s.Hosts, h)
		s.hostsDone.Go(func() { h.Run(s.Ctx) })
	}
	if len(s.Hosts) == 0 {
		return
	}
	s.Poller.SetRemote(func() []model.Part {
		var parts []model.Part
		for _, h := range s.Hosts {
			parts = append(parts, h.Parts()...)
		}
		return parts
	})
}

// WaitHosts waits (at most d) until every host was heard from or tried,
// so a one-shot command's snapshot has their rows.
func (s *Session) WaitHosts(d time.Duration) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for _, h := range s.Hosts {
		select {
		case <-h.Heard():
		case <-timeout.C:
			return
		}
	}
}

// Actions is what a view acts through: ctl, and each [[host]] for its
// own rows (host:service).
func (s *Session) Actions(ctl *backend.Controller) *backend.FleetActions {
	return backend.NewFleetActions(ctl, s.Hosts)
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

// Control adds the supervisor and the controller, for the commands that
// start and stop services; stateDir holds their pid files, logs and the
// pending stops. Call it before Extras and Run.
func (s *Session) Control(stateDir string) (*backend.Controller, error) {
	sup, err := proc.NewSupervisor(s.cfg, stateDir)
	if err != nil {
		return nil, err
	}
	ctl, err := backend.NewController(s.Ctx, s.cfg, sup, s.Poller, stateDir)
	if err != nil {
		return nil, err
	}
	s.ctl = ctl
	return ctl, nil
}

// Extras adds what runs beside a long-lived view (see attachExtras), with
// alerts logged in stateDir and metrics on metricsListen when it is set.
// Call it before Run.
func (s *Session) Extras(stateDir, metricsListen string) error {
	stop, err := attachExtras(s.Ctx, s, s.cfg, stateDir, metricsListen)
	if err != nil {
		return err
	}
	s.stopExtras = stop
	return nil
}

// Subscribe is the poller's feed of snapshots, dropped by Close once
// polling has stopped. Subscribe before Run to see the first snapshot.
func (s *Session) Subscribe() <-chan model.Snapshot {
	feed, unsubscribe := s.Poller.Subscribe()
	s.unsubs = append(s.unsubs, unsubscribe)
	return feed
}

// Run polls in the background until Close.
func (s *Session) Run() {
	s.polling = make(chan struct{})
	go func() { s.Poller.Run(s.Ctx); close(s.polling) }()
}

// Live is the whole session of a long-lived view (the dashboard, `postdeck
// serve`): the controller, the extras, and polling in the background.
func (s *Session) Live(stateDir, metricsListen string) (*backend.Controller, error) {
	ctl, err := s.Control(stateDir)
	if err != nil {
		return nil, err
	}
	if err := s.Extras(stateDir, metricsListen); err != nil {
		return nil, err
	}
	s.Run()
	return ctl, nil
}

// Close stops polling (no new actions), lets the controller's actions
// under way end (they see the cancelled context and give up their waits),
// stops the extras (the ledger last among them, once its keeper's Lists
// have ended, so every write queued is committed), drops the feeds and
// closes the node client. A second
// Close does nothing.
func (s *Session) Close() {
	if s.closed {
		return
	}
	s.closed = true
	s.cancel()
	if s.polling != nil {
		<-s.polling
	}
	if s.ctl != nil {
		s.ctl.Wait()
	}
	s.hostsDone.Wait()
	if s.stopExtras != nil {
		s.stopExtras()
	}
	for _, unsubscribe := range s.unsubs {
		unsubscribe()
	}
	s.Node.Close()
	for _, c := range s.MoreNodes {
		c.Close()
	}
}

// attachExtras attaches to s's poller what runs beside it for a dashboard or
// `postdeck serve`: the node's events (timelines, throughput), the epoch
// ledger in stateDir with its keeper (backfill, records in the rows; a
// ledger that cannot be opened is an error in every snapshot), the cycle-gap
// countdown (Snapshot.Cycle on s's clock, checked with the node's NodeInfo), alerts to
// the deadline plan of that gap (Snapshot.Plan), alerts to
// [alerts] command/webhook (logged to stateDir/alerts.log) and, when
// metricsListen is set, Prometheus metrics on it. Their hooks run in that
// order, before the controller's. Call it before s.Poller.Run, with the
// context the poller runs under; stop ends them all, after the poller has
// stopped. An error (the metrics address cannot be listened on) leaves
// nothing running.
func attachExtras(ctx context.Context, s *Session, cfg *config.Config, stateDir, metricsListen string) (stop func(), err error) {
	var exporter *metrics.Metrics
	stopMetrics := func() {}
	if metricsListen != "" {
		exporter = metrics.New(s.Poller)
		if _, stopMetrics, err = exporter.Serve(metricsListen); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	timing := backend.TimingOf(&cfg.Timing)
	s.Planner = backend.NewPlanner(cfg, s.Clock.Now)
	// A ledger that cannot be opened (another postdeck holds it, the file
	// is corrupt, the disk is full) leaves the dashboard running without
	// it; every snapshot names the problem.
	led, lerr := ledger.Open(ledger.PathIn(stateDir), ledger.Options{Timing: timing, Now: s.Clock.Now})
	var feed *nodeapi.EventFeed
	s.History = backend.NewHistoryKeeper(s.Node, led, lerr, s.Planner, func() bool { return feed.Stats().Connected },
		backend.HistoryOptions{Timing: timing, Now: s.Clock.Now, Skew: func() (time.Duration, bool) { return feed.Skew() }})
	feed = backend.AttachEvents(ctx, s.Poller, s.History.OnEvent)

	cycle := backend.NewCycleWatcher(timing, s.Clock.Now)
	wg.Go(func() { cycle.AskNode(ctx, s.Node, cfg.Poll.NodeTimeout.Duration) })
	s.Poller.AddHook(cycle.Hook)
	// After the events (it reads the proofs' phases), before the planner,
	// the alerts and the controller (they see the malicious flag).
	s.Poller.AddHook(s.History.Hook)
	wg.Go(func() { s.History.Run(ctx) })
	// After the countdown (it plans that gap), before the controller (which
	// starts proofs in the plan's order).
	s.Poller.AddHook(s.Planner.Hook)

	if alerts := alerts.New(cfg.Alerts, stateDir); alerts.Enabled() {
		s.Poller.AddHook(alerts.Hook)
		wg.Go(func() { alerts.Run(ctx) })
		if exporter != nil {
			exporter.WatchAlerts(alerts)
		}
	}
	if exporter != nil {
		s.Poller.AddHook(exporter.Hook)
	}
	return func() {
		cancel()
		wg.Wait() // the keeper's Lists have ended: nothing more is queued
		led.Close()
		stopMetrics()
	}, nil
}
