package model

import (
	"fmt"
	"strings"
	"time"
)

// The alerts about earning, raised from the ledger's records (Row.Epochs)
// and the plan rather than from a health flag appearing.
const (
	AlertATXMissing     = "atx-missing"
	AlertRewardsStopped = "rewards-stopped"
	AlertPlanMisses     = "plan-misses"
	AlertMalicious      = string(HealthMalicious)
)

// ATXGrace is how long after the gap closes an ATX may still be on its way
// (the last proofs finish at the close, the node publishes, the ledger
// reads it) before atx-missing is raised.
const ATXGrace = 30 * time.Minute

// EpochWatch raises the alerts that need more than two snapshots to judge:
// an ATX still missing once the cycle gap of its epoch has closed, rewards
// that stopped coming for a while, and a plan that will miss the coming gap.
// Each is raised once for what it is about (an identity and epoch, a
// gap), so a condition that lasts does not repeat at every debounce. It
// reads only the snapshots' clock (Snapshot.At), never the machine's.
// Not safe for concurrent use.
type EpochWatch struct {
	// RewardsStopped is how long an identity earning this epoch may go
	// without a new reward ([alerts] rewards_stopped).
	RewardsStopped time.Duration

	gapCloses   time.Time              // the close of the gap last seen coming or open
	closedEpoch uint32                 // the publish epoch of the gap seen closing last
	closedAt    time.Time              // when it closed; zero before one was seen
	rewards     map[string]rewardsSeen // identity hex → its earning epoch
	told        map[string]uint32      // what was raised already → its epoch
	planGap     time.Time              // the gap whose misses were told
	planMisses  int
}

// rewardsSeen is an identity's rewards in its current reward epoch and
// since when the count has not grown.
type rewardsSeen struct {
	epoch uint32
	count int
	since time.Time
}

// Check returns the alerts cur raises.
func (w *EpochWatch) Check(cur *Snapshot) []Alert {
	if cur == nil {
		return nil
	}
	if w.told == nil {
		w.told, w.rewards = map[string]uint32{}, map[string]rewardsSeen{}
	}
	w.watchGap(cur)
	var out []Alert
	for i := range cur.Rows {
		r := &cur.Rows[i]
		if a, ok := w.atxMissing(cur.At, r); ok {
			out = append(out, a)
		}
		if a, ok := w.rewardsStopped(cur.At, r); ok {
			out = append(out, a)
		}
	}
	if a, ok := w.planMiss(cur); ok {
		out = append(out, a)
	}
	return out
}

// watchGap notices a cycle gap closing: the one seen coming is past, or the
// countdown moved on to a later one. The gap's epoch is the newest open
// publish epoch among the rows' records at that moment.
func (w *EpochWatch) watchGap(cur *Snapshot) {
	ci := cur.Cycle
	if !w.gapCloses.IsZero() && (!cur.At.Before(w.gapCloses) || (ci.Known && ci.GapCloses.After(w.gapCloses))) {
		if e, ok := openEpoch(cur.Rows); ok {
			w.closedEpoch, w.closedAt = e, w.gapCloses
			w.forget(e)
		}
		w.gapCloses = time.Time{}
	}
	if ci.Known && cur.At.Before(ci.GapCloses) {
		w.gapCloses = ci.GapCloses
	}
}

// forget drops what was told of epochs before e-1: they cannot come again.
func (w *EpochWatch) forget(e uint32) {
	for k, te := range w.told {
		if te+1 < e {
			delete(w.told, k)
		}
	}
}

// openEpoch is the newest publish epoch still open in any row's records.
func openEpoch(rows []Row) (uint32, bool) {
	var e uint32
	ok := false
	for i := range rows {
		for _, rec := range rows[i].Epochs {
			if rec.Open && (!ok || rec.Epoch > e) {
				e, ok = rec.Epoch, true
			}
		}
	}
	return e, ok
}

// record is the row's record of publish epoch e.
func (r *Row) record(e uint32) (EpochRecord, bool) {
	for i := len(r.Epochs) - 1; i >= 0; i-- {
		if r.Epochs[i].Epoch == e {
			return r.Epochs[i], true
		}
	}
	return EpochRecord{}, false
}

// atxMissing: the gap of the row's publish epoch has closed and the ledger
// has no ATX of that epoch for it.
func (w *EpochWatch) atxMissing(at time.Time, r *Row) (Alert, bool) {
	if w.closedAt.IsZero() || at.Before(w.closedAt.Add(ATXGrace)) {
		return Alert{}, false
	}
	rec, ok := r.record(w.closedEpoch)
	if !ok || rec.ATX != nil || !rec.Open && !rec.ATXListed {
		return Alert{}, false
	}
	key := fmt.Sprintf("%s/%x/%d", AlertATXMissing, r.ID, rec.Epoch)
	if _, done := w.told[key]; done {
		return Alert{}, false
	}
	w.told[key] = rec.Epoch
	return rowAlert(at, AlertATXMissing, r, fmt.Sprintf("no ATX for epoch %d after the cycle gap closed: %s",
		rec.Epoch, openWhy(rec))), true
}

// openWhy is the why-line of a record whose epoch may still be open: what
// failed first, or how far the proof got.
func openWhy(rec EpochRecord) string {
	closed := rec
	closed.Open = false
	why := Why(closed)
	if why != WhyNotObserved && why != "" {
		return why
	}
	switch p := rec.Proof; {
	case !p.Completed.IsZero():
		return "the proof is done (" + p.Completed.UTC().Format(time.RFC3339) + "), the ATX not seen yet"
	case !p.Started.IsZero():
		return "the proof started " + p.Started.UTC().Format(time.RFC3339) + " and is not done"
	}
	return "no proof seen; " + WhyNotObserved
}

// rewardsStopped: the row's ATX earns in the current epoch, the epoch's
// promised rewards are not all in, and the count has not grown for
// RewardsStopped.
func (w *EpochWatch) rewardsStopped(at time.Time, r *Row) (Alert, bool) {
	id := r.IDHex()
	rec, ok := earning(r)
	if !ok || w.RewardsStopped <= 0 {
		delete(w.rewards, id)
		return Alert{}, false
	}
	seen, had := w.rewards[id]
	if !had || seen.epoch != rec.Rewards.Epoch || rec.Rewards.Count > seen.count {
		seen = rewardsSeen{epoch: rec.Rewards.Epoch, count: rec.Rewards.Count, since: at}
		w.rewards[id] = seen
	}
	if el := rec.Eligibilities; el.Known && rec.Rewards.Count >= el.Layers {
		return Alert{}, false // every reward it was promised is in
	}
	key := fmt.Sprintf("%s/%s/%d/%d", AlertRewardsStopped, id, seen.epoch, seen.count)
	if _, done := w.told[key]; done || at.Sub(seen.since) < w.RewardsStopped {
		return Alert{}, false
	}
	w.told[key] = rec.Epoch
	msg := fmt.Sprintf("no new reward for %s (ATX of epoch %d, weight %d; %d rewards in epoch %d so far",
		Span(at.Sub(seen.since)), rec.Epoch, rec.ATX.Weight, rec.Rewards.Count, rec.Rewards.Epoch)
	if rec.Eligibilities.Known {
		msg += fmt.Sprintf(" of %d eligible layers", rec.Eligibilities.Layers)
	}
	return rowAlert(at, AlertRewardsStopped, r, msg+")"), true
}

// earning is the row's record whose ATX earns rewards in the current epoch.
func earning(r *Row) (EpochRecord, bool) {
	for i := len(r.Epochs) - 1; i >= 0; i-- {
		if rec := r.Epochs[i]; !rec.Open && rec.RewardsOpen && rec.ATX != nil && !rec.Malicious {
			return rec, true
		}
	}
	return EpochRecord{}, false
}

// planMiss: before the gap opens, the plan says proofs will miss it; told
// once per gap, and again when more will miss.
func (w *EpochWatch) planMiss(cur *Snapshot) (Alert, bool) {
	p := cur.Plan
	if p == nil || p.Misses == 0 || !cur.At.Before(p.GapStart) {
		return Alert{}, false
	}
	if p.GapStart.Equal(w.planGap) && p.Misses <= w.planMisses {
		return Alert{}, false
	}
	w.planGap, w.planMisses = p.GapStart, p.Misses
	var names []string
	for _, pp := range p.Proofs {
		if !pp.Fits {
			names = append(names, pp.Name+" ("+pp.Reason+")")
		}
	}
	more := ""
	if len(names) > 5 {
		more = fmt.Sprintf("; and %d more", len(names)-5)
		names = names[:5]
	}
	return Alert{Time: cur.At, Kind: AlertPlanMisses, Message: fmt.Sprintf(
		"the plan of the cycle gap opening %s does not fit: %d of %d proofs will miss it: %s%s",
		p.GapStart.UTC().Format(time.RFC3339), p.Misses, len(p.Proofs), strings.Join(names, "; "), more)}, true
}
