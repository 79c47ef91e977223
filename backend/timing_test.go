package backend

import (
	"context"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/backend/testkit"
	"postdeck/model"
)

func TestTimingOfNamesItsSource(t *testing.T) {
	cfg := &config.Config{}
	config.ApplyDefaults(cfg)
	if tm := TimingOf(&cfg.Timing); tm.Source != "mainnet defaults" || !tm.Same(model.MainnetTiming()) {
		t.Fatalf("defaults: %+v", tm)
	}
	cfg.Timing.PoetCycleGap.Duration = 6 * time.Hour
	if tm := TimingOf(&cfg.Timing); tm.Source != "config" || tm.CycleGap != 6*time.Hour {
		t.Fatalf("changed: %+v", tm)
	}
}

// The watcher against the simulated node: NodeInfo's epoch size (4032)
// agrees with mainnet's; a config with another says so. A PoET round end in
// the events is kept after the event scrolls out.
func TestCycleWatcherWithSimNode(t *testing.T) {
	s := testkit.StartSim(t, 1)
	node := topNode(t, topNodeOptions(s.Layout()))
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

	w := NewCycleWatcher(model.MainnetTiming(), func() time.Time { return now })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.AskNode(ctx, node, 3*time.Second)
	var snap model.Snapshot
	w.Hook(&snap)
	if c := snap.Cycle; !c.Known || c.Mismatch != "" || !c.RoundEnd.Equal(time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)) || c.InGap {
		t.Fatalf("mainnet: %+v", c)
	}

	other := model.MainnetTiming()
	other.LayersPerEpoch, other.Source = 288, "config"
	w2 := NewCycleWatcher(other, func() time.Time { return now })
	w2.AskNode(ctx, node, 3*time.Second)
	w2.Hook(&snap)
	if !strings.Contains(snap.Cycle.Mismatch, "4032 layers per epoch, the config 288") {
		t.Fatalf("mismatch not found: %+v", snap.Cycle)
	}

	ev := model.Event{Time: now, Kind: "registered_in_poet", Detail: "round_end=2026-01-05T08:10:00Z"}
	w.Hook(&model.Snapshot{Events: []model.Event{ev}})
	snap = model.Snapshot{}
	w.Hook(&snap) // the event is gone from the snapshot: still used
	if c := snap.Cycle; c.Source != "node events" || !c.RoundEnd.Equal(time.Date(2026, 1, 5, 8, 10, 0, 0, time.UTC)) || c.Mismatch == "" {
		t.Fatalf("events: %+v", c)
	}
}

func TestCycleWatcherAskNodeGivesUp(t *testing.T) {
	w := NewCycleWatcher(model.MainnetTiming(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.AskNode(ctx, &nodeapi.Client{}, time.Second); close(done) }() // no listener configured
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("AskNode did not return after its context ended")
	}
}
