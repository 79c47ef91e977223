package backend

import (
	"context"
	"sync"
	"time"

	"postdeck/backend/ledger"
	"postdeck/backend/nodeapi"
	"postdeck/model"
)

// HistoryOptions tune a HistoryKeeper; zero values take the defaults.
type HistoryOptions struct {
	// Timing places epochs (required: the ledger's own).
	Timing model.Timing
	// Now is the clock epochs are counted on (default time.Now).
	Now func() time.Time
	// Workers is how many List calls run at once (default 4); Chunk how
	// many identities one ActivationService List asks for (default 25).
	Workers, Chunk int
	// Recent is how often the recent epochs are listed again (default 5
	// minutes), RecentEpochs how many before the current one (default 2).
	Recent       time.Duration
	RecentEpochs uint32
	// Refresh is how often the rows' records are re-read when events came
	// in (default 1 minute); a backfill step or a new epoch re-reads sooner,
	// but never more often than MinReread (default 1 s).
	Refresh, MinReread time.Duration
	// Epochs is how many publish epochs each row carries (default 8).
	Epochs int
	// MarkEvery is how often the watched (and out-of-sync) time is written
	// while it goes on (default 30 s): a span's start at once, its end at
	// most this late — a crash can only leave less time marked watched.
	MarkEvery time.Duration
	// Skew is how far the node's clock is behind Now (nodeapi.EventFeed's
	// Skew); nil or unknown is none. Watched time is recorded on the node's
	// clock, the one its events carry.
	Skew func() (time.Duration, bool)
}

func (o HistoryOptions) withDefaults() HistoryOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Recent, 5*time.Minute)
	def(&o.Refresh, time.Minute)
	def(&o.MinReread, time.Second)
	def(&o.MarkEvery, 30*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Chunk <= 0 {
		o.Chunk = 25
	}
	if o.RecentEpochs == 0 {
		o.RecentEpochs = 2
	}
	if o.Epochs <= 0 {
		o.Epochs = 8
	}
	return o
}

// HistoryKeeper keeps the epoch ledger current and puts it in each
// snapshot. In the background (Run) it backfills the node's ATX, reward
// and malfeasance history for every identity the snapshots name, lists the
// recent epochs again every few minutes, and re-reads the rows' records;
// OnEvent records the node's events; Hook records what each poll measured
// (watched time, the node out of sync, finished proofs) and decorates the
// snapshot from what was last read: it never queries or waits.
type HistoryKeeper struct {
	node    *nodeapi.Client
	led     *ledger.Ledger // nil: the ledger could not be opened
	openErr error
	planner *Planner
	feedUp  func() bool // the event stream is up: postdeck is watching
	opts    HistoryOptions

	found chan struct{} // new identities to backfill
	wake  chan struct{} // the records are worth re-reading now

	mu        sync.Mutex
	known     map[string]ledger.Identity // every identity a snapshot named
	listed    map[string]bool            // backfilled in this run
	recs      map[string][]model.EpochRecord
	malicious map[string]bool
	readEpoch uint32
	read      bool // recs were read at least once
	dirty     bool // events came in since the last read
	readErr   error
	backfill  model.Backfill
	histErr   string
	layers    uint32 // the node's layers per epoch, 0 until asked

	// Only Hook touches these.
	watchFrom, unsyncFrom time.Time
	watchMark, unsyncMark time.Time                   // when each span was last written
	proofs                map[string][2]time.Duration // by service: the last proof's phases seen
}

// NewHistoryKeeper keeps led (nil when opening it failed with openErr,
// which every snapshot then shows) from node's history, feeding planner
// (may be nil) the measured proofs. feedUp tells whether the node's event
// stream is up (nil: always).
func NewHistoryKeeper(node *nodeapi.Client, led *ledger.Ledger, openErr error, planner *Planner, feedUp func() bool, opts HistoryOptions) *HistoryKeeper {
	if feedUp == nil {
		feedUp = func() bool { return true }
	}
	if node == nil {
		node = &nodeapi.Client{} // every listener reports "not configured"
	}
	return &HistoryKeeper{
		node: node, led: led, openErr: openErr, planner: planner, feedUp: feedUp, opts: opts.withDefaults(),
		found: make(chan struct{}, 1), wake: make(chan struct{}, 1),
		known: map[string]ledger.Identity{}, listed: map[string]bool{},
		proofs: map[string][2]time.Duration{},
	}
}

// Ledger is the ledger kept, nil when there is none.
func (k *HistoryKeeper) Ledger() *ledger.Ledger { return k.led }

// OnEvent records one new event of the node's stream (the event feed's
// callback): it only queues the write.
func (k *HistoryKeeper) OnEvent(e model.Event) {
	if k.led == nil {
		return
	}
	k.led.AddEvent(e)
	if len(e.Smesher) > 0 {
		k.mu.Lock()
		k.dirty = true
		k.mu.Unlock()
	}
}

// Run backfills, lists again and re-reads until ctx ends; it returns once
// its calls have ended. Without a ledger there is nothing to keep.
func (k *HistoryKeeper) Run(ctx context.Context) {
	if k.led == nil {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { k.rereadLoop(ctx) })
	recent := time.NewTicker(k.opts.Recent)
	defer recent.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.found:
			k.backfillNew(ctx)
			notify(k.wake) // the new identities' records, listed or not
		case <-recent.C:
			k.backfillNew(ctx) // what failed before (the node was down)
			k.listRecent(ctx)
		}
	}
}

// rereadLoop re-reads the records when woken or, with events in, every
// Refresh; at most once every MinReread.
func (k *HistoryKeeper) rereadLoop(ctx context.Context) {
	tick := time.NewTicker(k.opts.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-k.wake:
		case <-tick.C:
			k.mu.Lock()
			dirty := k.dirty
			k.mu.Unlock()
			if !dirty {
				continue
			}
		}
		k.reread(ctx)
		select { // a throttle: wakes meanwhile coalesce into one
		case <-ctx.Done():
			return
		case <-time.After(k.opts.MinReread):
		}
	}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// currentEpoch is the epoch now is in on the network's calendar.
func (k *HistoryKeeper) currentEpoch() uint32 {
	return uint32(k.opts.Timing.Epoch(k.opts.Now()))
}

// identities is every identity known, for Records and the Lists.
func (k *HistoryKeeper) identities() []ledger.Identity {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]ledger.Identity, 0, len(k.known))
	for _, id := range k.known {
		out = append(out, id)
	}
	return out
}

// reread reads the rows' recent records once the queued writes are in,
// and hands the planner the measured proofs.
func (k *HistoryKeeper) reread(ctx context.Context) {
	k.mu.Lock()
	k.dirty = false // before the read: an event during it wants the next one
	k.mu.Unlock()
	ids := k.identities()
	cur := k.currentEpoch()
	from := uint32(max(0, int64(cur)-int64(k.opts.Epochs)+1))
	fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	k.led.Flush(fctx) // a failed write shows in Status; read what is there
	cancel()
	recs, err := k.led.Records(ids, from, cur)
	byID := make(map[string][]model.EpochRecord, len(ids))
	bad := map[string]bool{}
	per := int(cur - from + 1)
	for i := 0; i+per <= len(recs); i += per {
		id := string(recs[i].ID)
		byID[id] = recs[i : i+per : i+per]
		bad[id] = recs[i+per-1].Malicious
	}
	k.mu.Lock()
	if err == nil {
		k.recs, k.malicious, k.readEpoch, k.read = byID, bad, cur, true
	} else {
		k.dirty = true // try again at the next tick
	}
	k.readErr = err
	k.mu.Unlock()
	if k.planner != nil {
		k.planner.SetMeasures(measuresOf(k.led.Measured()))
	}
}

// measuresOf turns the ledger's last proofs into the planner's measures.
func measuresOf(m map[string]ledger.Measured) map[string]model.ProofMeasure {
	out := make(map[string]model.ProofMeasure, len(m))
	for id, x := range m {
		out[id] = model.ProofMeasure{ReadBytesPerSec: x.ReadRate, K2Pow: x.K2Pow}
	}
	return out
}
