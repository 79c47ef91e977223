package backend

import (
	"context"
	"sync"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/nodeapi"
	"postdeck/model"
)

// TimingOf is the config's [timing] as the model's clock, named "mainnet
// defaults" when it is mainnet's and "config" otherwise.
func TimingOf(c *config.TimingConfig) model.Timing {
	t := model.Timing{
		Genesis:        c.Genesis.Time,
		LayerDuration:  c.LayerDuration.Duration,
		LayersPerEpoch: uint32(max(c.LayersPerEpoch, 0)),
		PhaseShift:     c.PoetPhaseShift.Duration,
		CycleGap:       c.PoetCycleGap.Duration,
		Source:         "config",
	}
	if mn := model.MainnetTiming(); t.Same(mn) {
		t.Source = mn.Source
	}
	return t
}

// nodeInfoRetry is how long the cycle watcher waits before asking the node's
// NodeInfo again after it did not answer.
const nodeInfoRetry = time.Minute

// CycleWatcher fills each snapshot's Cycle: the countdown computed from the
// config's timing, cross-checked with the node's epoch size (NodeInfo,
// asked in the background, never in the poll cycle) and the PoET round end
// its events name.
type CycleWatcher struct {
	timing model.Timing
	now    func() time.Time

	mu        sync.Mutex
	epochSize uint32 // 0 until the node answered NodeInfo
	roundEnd  time.Time
}

// NewCycleWatcher computes the countdown from t at the time now tells (nil:
// the machine's clock): the one the dashboard counts down from.
func NewCycleWatcher(t model.Timing, now func() time.Time) *CycleWatcher {
	if now == nil {
		now = time.Now
	}
	return &CycleWatcher{timing: t, now: now}
}

// AskNode asks node's NodeInfo for its epoch size until it answers or ctx
// ends; run it in its own goroutine. A nil node or one without a public
// listener leaves the countdown unchecked.
func (w *CycleWatcher) AskNode(ctx context.Context, node *nodeapi.Client, timeout time.Duration) {
	if node == nil {
		return
	}
	for {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		info, err := node.NodeInfo(cctx)
		cancel()
		if err == nil && info.EpochSize > 0 {
			w.mu.Lock()
			w.epochSize = info.EpochSize
			w.mu.Unlock()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(nodeInfoRetry):
		}
	}
}

// Hook fills s.Cycle; a poller hook (it does not block).
func (w *CycleWatcher) Hook(s *model.Snapshot) {
	end := model.PoetRoundEnd(s)
	w.mu.Lock()
	if !end.IsZero() {
		w.roundEnd = end // kept: the event scrolls out of the timeline
	}
	n := model.NodeTiming{EpochSize: w.epochSize, RoundEnd: w.roundEnd}
	w.mu.Unlock()
	s.Cycle = model.CheckCycle(w.now(), w.timing, n)
}
