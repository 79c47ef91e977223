package backend

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/ledger"
	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

// keeperRig is a poller with the event feed and a history keeper over a
// simulated node, as the dashboard's session wires them.
type keeperRig struct {
	t      testing.TB
	sim    *sim.Sim
	poller *Poller
	keeper *HistoryKeeper
	feed   *nodeapi.EventFeed
	stop   func()
}

// startSimFor starts a sim on the tests' clock. A manual one sends only
// the events its test causes; one that is not replays the last past
// epoch's events, as a node that ran through it.
func startSimFor(t testing.TB, opts sim.Options) *sim.Sim {
	t.Helper()
	opts.Now = testkit.Clock.Now
	s, err := sim.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// startKeeper opens the ledger in stateDir and runs poller, feed and
// keeper over s until the returned rig's stop (also at cleanup).
func startKeeper(t testing.TB, s *sim.Sim, stateDir string, opts HistoryOptions) *keeperRig {
	t.Helper()
	cfg := simConfig(s.Layout())
	config.ApplyDefaults(cfg)
	cfg.Poll.Interval.Duration = 50 * time.Millisecond
	timing := TimingOf(&cfg.Timing)
	node, err := nodeapi.NewClient(nodeapi.OptionsFor(cfg))
	if err != nil {
		t.Fatal(err)
	}
	ops := operator.NewClient(time.Second)
	p := NewPoller(cfg, node, ops)
	led, lerr := ledger.Open(ledger.PathIn(stateDir), ledger.Options{Timing: timing, Now: testkit.Clock.Now})
	opts.Timing, opts.Now = timing, testkit.Clock.Now
	if opts.Refresh == 0 {
		opts.Refresh, opts.MinReread = 50*time.Millisecond, 10*time.Millisecond
	}
	if opts.MarkEvery == 0 {
		opts.MarkEvery = time.Nanosecond // every poll: the tests watch the spans grow
	}
	var feed *nodeapi.EventFeed
	k := NewHistoryKeeper(node, led, lerr, nil, func() bool { return feed.Stats().Connected }, opts)
	ctx, cancel := context.WithCancel(context.Background())
	feed = AttachEvents(ctx, p, k.OnEvent)
	p.AddHook(k.Hook)
	var wg sync.WaitGroup
	wg.Go(func() { k.Run(ctx) })
	wg.Go(func() { p.Run(ctx) })
	var once sync.Once
	r := &keeperRig{t: t, sim: s, poller: p, keeper: k, feed: feed}
	r.stop = func() {
		once.Do(func() { cancel(); wg.Wait(); led.Close(); ops.Close(); node.Close() })
	}
	t.Cleanup(r.stop)
	return r
}

// snapshot waits for a published snapshot that satisfies cond.
func (r *keeperRig) snapshot(what string, cond func(model.Snapshot) bool) model.Snapshot {
	r.t.Helper()
	var snap model.Snapshot
	testkit.WaitFor(r.t.(*testing.T), what, func() bool {
		s, ok := r.poller.Latest()
		snap = s
		return ok && cond(s)
	})
	return snap
}

// streaming waits for the event stream to be up: a test of what events
// bring starts from there (on a loaded machine the first subscription can
// time out and wait out a backoff).
func (r *keeperRig) streaming() {
	r.t.Helper()
	testkit.WaitFor(r.t.(*testing.T), "the event stream", func() bool { return r.feed.Stats().Connected })
}

// record is id's record of publish epoch e in the snapshot.
func record(s model.Snapshot, id []byte, e uint32) (model.EpochRecord, bool) {
	for _, r := range s.Rows {
		if bytes.Equal(r.ID, id) {
			for _, rec := range r.Epochs {
				if rec.Epoch == e {
					return rec, true
				}
			}
		}
	}
	return model.EpochRecord{}, false
}

// listedFor reports whether the history of epoch e was read for every row.
func listedFor(e uint32) func(model.Snapshot) bool {
	return func(s model.Snapshot) bool {
		for _, r := range s.Rows {
			if rec, ok := record(s, r.ID, e); !ok || !rec.ATXListed {
				return false
			}
		}
		return len(s.Rows) > 0
	}
}

// The backfill reads the node's history into the rows: an ordinary
// identity's ATX and rewards, the missed ATX and the failed proof's epoch
// (missing, and "not observed": postdeck was not running then, and a
// manual sim replays no events), and the malicious identity's critical
// flag.
func TestBackfillPutsTheHistoryAndItsWhyLinesInTheRows(t *testing.T) {
	t.Parallel()
	s := startSimFor(t, sim.Options{IDs: 5, Seed: 61, Malicious: true, Manual: true})
	r := startKeeper(t, s, t.TempDir(), HistoryOptions{})
	cases, cur := s.HistoryCases(), s.CurrentEpoch()
	// Malfeasance is listed after ATXs and rewards: wait for it too.
	snap := r.snapshot(fmt.Sprint("every row's history of epoch ", cases.MissedEpoch, " and the malfeasance"), func(snap model.Snapshot) bool {
		bad, _ := record(snap, cases.Malicious, cases.MissedEpoch)
		return listedFor(cases.MissedEpoch)(snap) && bad.Malicious
	})
	first := s.Layout().Services[0].NodeID // the sim's first identity is always well
	if rec, _ := record(snap, first, cur-2); rec.ATX == nil || rec.Rewards.Count == 0 || rec.Rewards.Sum == 0 || model.Why(rec) != "" {
		t.Errorf("the first identity's epoch %d: %+v, why %q; want its ATX and rewards", cur-2, rec, model.Why(rec))
	}
	if rec, _ := record(snap, cases.MissedATX, cases.MissedEpoch); rec.ATX != nil || model.Why(rec) != model.WhyNotObserved {
		t.Errorf("missed ATX: %+v, why %q; want no ATX, %q", rec.ATX, model.Why(rec), model.WhyNotObserved)
	}
	if rec, _ := record(snap, cases.FailedProof, cases.FailedEpoch); rec.ATX != nil || !rec.ATXListed || model.Why(rec) != model.WhyNotObserved {
		t.Errorf("failed proof: %+v, why %q; want no ATX, %q", rec.ATX, model.Why(rec), model.WhyNotObserved)
	}
	for _, row := range snap.Rows {
		if bad := bytes.Equal(row.ID, cases.Malicious); row.Has(model.HealthMalicious) != bad || bad && !row.Critical() {
			t.Errorf("row %s: health %v, malicious %v", row.Label(), row.Health, bad)
		}
		if len(row.Epochs) != 8 || row.Epochs[7].Epoch != cur {
			t.Errorf("row %s: %d records, last %+v; want 8 up to epoch %d", row.Label(), len(row.Epochs), row.Epochs[len(row.Epochs)-1], cur)
		}
	}
	snap = r.snapshot("the backfill to end", func(s model.Snapshot) bool { return !s.Ledger.Backfill.Running })
	if b := snap.Ledger.Backfill; b.Done != 5 || b.Total != 5 || snap.Ledger.Path == "" {
		t.Errorf("ledger in the snapshot: %+v", snap.Ledger)
	}
}

// A proof the node takes now brings its ATX into the row through the
// event stream, without waiting for the next List.
func TestAnEventBringsTheNewATXIntoTheRow(t *testing.T) {
	t.Parallel()
	s := startSimFor(t, sim.Options{IDs: 3, Seed: 62, Manual: true})
	r := startKeeper(t, s, t.TempDir(), HistoryOptions{})
	cur := s.CurrentEpoch()
	id := s.Layout().Services[1].NodeID
	r.snapshot("the backfill", listedFor(cur))
	if rec, _ := record(mustLatest(r), id, cur); rec.ATX != nil {
		t.Fatalf("an ATX in the current epoch before any proof: %+v", rec.ATX)
	}
	r.streaming()
	s.AcceptProof(id)
	r.snapshot("the new ATX in the row", func(snap model.Snapshot) bool {
		rec, _ := record(snap, id, cur)
		return rec.ATX != nil && len(rec.ATX.ID) > 0
	})
}

func mustLatest(r *keeperRig) model.Snapshot {
	s, _ := r.poller.Latest()
	return s
}

// A node without the history services: one message names the config keys
// that enable them; the rows, and what the events tell, go on.
func TestANodeWithoutHistoryIsToldWhichKeysEnableIt(t *testing.T) {
	t.Parallel()
	s := startSimFor(t, sim.Options{IDs: 3, Seed: 63, WithoutV2: true, Manual: true})
	r := startKeeper(t, s, t.TempDir(), HistoryOptions{})
	snap := r.snapshot("the node/history error", func(s model.Snapshot) bool { return hasSource(s, "node/history") })
	n := 0
	for _, e := range snap.Node.Errors {
		if e.Source == "node/history" {
			n++
			for _, w := range []string{"activation_v2alpha1", "reward_v2alpha1", "malfeasance_v2alpha1", "grpc-public-services"} {
				if !strings.Contains(e.Message, w) {
					t.Errorf("message %q does not name %s", e.Message, w)
				}
			}
		}
	}
	if n != 1 || len(snap.Rows) != 3 {
		t.Errorf("%d history errors (want one), %d rows (want 3): %+v", n, len(snap.Rows), snap.Node.Errors)
	}
	id, cur := s.Layout().Services[0].NodeID, s.CurrentEpoch()
	r.streaming()
	s.AcceptProof(id)
	r.snapshot("the ATX, from the events alone", func(snap model.Snapshot) bool {
		rec, _ := record(snap, id, cur)
		return rec.ATX != nil && !rec.ATXListed
	})
}

func hasSource(s model.Snapshot, source string) bool {
	for _, e := range s.Node.Errors {
		if e.Source == source {
			return true
		}
	}
	return false
}

// A second run over the same ledger shows what the first stored at once
// and lists nothing again: its history is all there.
func TestARestartReadsTheLedgerAndListsOnlyWhatIsNew(t *testing.T) {
	t.Parallel()
	s := startSimFor(t, sim.Options{IDs: 3, Seed: 64, Manual: true})
	state := t.TempDir()
	cases := s.HistoryCases()
	first := startKeeper(t, s, state, HistoryOptions{})
	first.snapshot("the first run's backfill", func(snap model.Snapshot) bool {
		return listedFor(cases.MissedEpoch)(snap) && !snap.Ledger.Backfill.Running
	})
	first.stop()
	const rewards = "/spacemesh.v2alpha1.RewardService/List"
	before := s.Calls(rewards)
	second := startKeeper(t, s, state, HistoryOptions{})
	snap := second.snapshot("the stored history", listedFor(cases.MissedEpoch))
	if rec, _ := record(snap, cases.MissedATX, cases.MissedEpoch); rec.ATX != nil || model.Why(rec) != model.WhyNotObserved {
		t.Errorf("missed ATX after the restart: %+v, why %q", rec.ATX, model.Why(rec))
	}
	if n := s.Calls(rewards) - before; n != 0 || snap.Ledger.Backfill.Total != 0 {
		t.Errorf("the second run listed rewards %d times, backfill %+v; want none", n, snap.Ledger.Backfill)
	}
}

// The backfill target of the issue: 1000 identities × 50 epochs of ATXs
// and rewards from the simulator over its socket, into the ledger, in
// well under 10 s.
func BenchmarkBackfill1000x50(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s := startSimFor(b, sim.Options{IDs: 1000, Seed: 65, HistoryEpochs: 50, Manual: true})
		cfg := simConfig(s.Layout())
		config.ApplyDefaults(cfg)
		node, err := nodeapi.NewClient(nodeapi.OptionsFor(cfg))
		if err != nil {
			b.Fatal(err)
		}
		timing := TimingOf(&cfg.Timing)
		led, err := ledger.Open(ledger.PathIn(b.TempDir()), ledger.Options{Timing: timing, Now: testkit.Clock.Now})
		if err != nil {
			b.Fatal(err)
		}
		k := NewHistoryKeeper(node, led, nil, nil, nil, HistoryOptions{Timing: timing, Now: testkit.Clock.Now})
		var rows []model.Row
		for _, svc := range s.Layout().Services {
			rows = append(rows, model.Row{ID: svc.NodeID})
		}
		k.noteIdentities(rows)
		b.StartTimer()
		k.backfillNew(context.Background())
		if err := led.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if k.histErr != "" || k.backfill.Done != len(rows) {
			b.Fatalf("backfill %+v: %s", k.backfill, k.histErr)
		}
		led.Close()
		node.Close()
		s.Close()
		b.StartTimer()
	}
}
