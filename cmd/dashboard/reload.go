package dashboard

import (
	"context"
	"sync"

	"postdeck/backend"
	"postdeck/backend/config"
	"postdeck/backend/proc"
	"postdeck/cmd/common"
	"postdeck/model"
)

// live is the dashboard's session, which a reload replaces whole: the
// config read again and checked first, then the old session closed (its
// services keep running: they are detached, and the new one adopts them)
// and a new one opened on the new config. The screen keeps its feed and
// its actions throughout: they follow the session in use.
type live struct {
	g             *common.Common
	stateDir      string
	metricsListen string

	reloading sync.Mutex // one reload at a time (the key and SIGHUP)
	mu        sync.Mutex
	s         *common.Session
	acts      *backend.FleetActions

	out  chan model.Snapshot          // the screen's feed, latest wins
	feed chan (<-chan model.Snapshot) // each session's feed, in turn
	done chan struct{}
}

// openLive opens the first session on cfg and starts the feed.
func openLive(g *common.Common, cfg *config.Config, stateDir, metricsListen string) (*live, error) {
	l := &live{g: g, stateDir: stateDir, metricsListen: metricsListen,
		out: make(chan model.Snapshot, 1), feed: make(chan (<-chan model.Snapshot), 1), done: make(chan struct{})}
	if err := l.open(cfg); err != nil {
		return nil, err
	}
	go l.forward()
	return l, nil
}

// open starts a session on cfg and makes it the one in use.
func (l *live) open(cfg *config.Config) error {
	s, err := common.OpenSession(cfg, l.g.Clock)
	if err != nil {
		return err
	}
	feed := s.Subscribe() // before polling starts: the first snapshot is seen
	ctl, err := s.Live(l.stateDir, l.metricsListen)
	if err != nil {
		s.Close()
		return err
	}
	l.mu.Lock()
	l.s, l.acts = s, s.Actions(ctl)
	l.mu.Unlock()
	l.feed <- feed
	return nil
}

// forward copies the session in use's snapshots to the screen's feed; a
// session's feed ends when it closes, and the next one's follows.
func (l *live) forward() {
	var in <-chan model.Snapshot
	for {
		select {
		case <-l.done:
			return
		case f := <-l.feed:
			in = f
		case snap, ok := <-in:
			if !ok {
				in = nil
				continue
			}
			select {
			case <-l.out:
			default:
			}
			l.out <- snap
		}
	}
}

// reload reads the config file again; a file that does not load or
// validate leaves everything as it was. Automatic proving keeps the state
// the user gave it.
func (l *live) reload() (*config.Config, []string, error) {
	l.reloading.Lock()
	defer l.reloading.Unlock()
	l.mu.Lock()
	old := l.s
	l.mu.Unlock()
	cfg, err := config.Load(old.Config().Path)
	if err == nil {
		common.ApplyGlobals(cfg, l.g)
		err = cfg.Validate()
	}
	if err != nil {
		return nil, nil, err
	}
	auto := l.current().Auto()
	old.Close()
	if err := l.open(cfg); err != nil {
		// The new config was valid but its session did not open (its
		// metrics address is taken, say): carry on with the old one's.
		if rerr := l.open(old.Config()); rerr != nil {
			return nil, nil, rerr
		}
		return nil, nil, err
	}
	l.current().SetAuto(auto)
	return cfg, cfg.Warnings, nil
}

func (l *live) current() *backend.FleetActions {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.acts
}

// close ends the session in use and the feed.
func (l *live) close() {
	close(l.done)
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	s.Close()
}

// The screen's actions: whatever the session in use does.
func (l *live) Start(ctx context.Context, service string) (model.StartOutcome, error) {
	return l.current().Start(ctx, service)
}

func (l *live) Stop(ctx context.Context, service string, mode model.StopMode) (model.StopOutcome, error) {
	return l.current().Stop(ctx, service, mode)
}

func (l *live) Restart(ctx context.Context, service string) (model.StartOutcome, error) {
	return l.current().Restart(ctx, service)
}

func (l *live) SetAuto(on bool) { l.current().SetAuto(on) }
func (l *live) Auto() bool      { return l.current().Auto() }
func (l *live) LogSource(service string) (proc.LogSource, error) {
	return l.current().LogSource(service)
}
