package backend

import (
	"time"

	"postdeck/backend/ledger"
	"postdeck/model"
)

// Hook is the poller hook: it notes new identities (their backfill starts
// in the background), records this poll's watched time, the node out of
// sync and proofs finished, and decorates the snapshot with what was last
// read. Run it after the event feed's (it reads the rows' Timing) and
// before the planner's, the alerts' and the controller's (they read the
// malicious flag).
func (k *HistoryKeeper) Hook(s *model.Snapshot) {
	k.noteIdentities(s.Rows)
	if k.led != nil {
		k.observe(s)
	}
	k.decorate(s)
}

// noteIdentities adds the rows' identities (the node's and the configured
// ones) not known yet.
func (k *HistoryKeeper) noteIdentities(rows []model.Row) {
	k.mu.Lock()
	defer k.mu.Unlock()
	added := false
	for i := range rows {
		r := &rows[i]
		if len(r.ID) == 0 {
			continue
		}
		if old, ok := k.known[string(r.ID)]; !ok || old.Name != r.Name {
			k.known[string(r.ID)] = ledger.Identity{Name: r.Name, ID: r.ID}
			added = added || !ok
		}
	}
	if added {
		notify(k.found)
	}
}

// observe records what this poll saw. Time counts as watched only while
// the event stream is up: otherwise a step not seen would be called
// missing when postdeck simply could not see it.
func (k *HistoryKeeper) observe(s *model.Snapshot) {
	now := k.opts.Now()
	if k.feedUp() {
		skew := k.skew()
		if k.watchFrom.IsZero() {
			// On the node's clock, fixed at the start: the skew measured
			// jitters, and a start that moved would be a new span each poll.
			k.watchFrom, k.watchMark = now.Add(-skew), time.Time{}
		}
		if k.due(&k.watchMark, now) {
			k.led.Observed(k.watchFrom, now.Add(-skew))
		}
	} else {
		k.watchFrom = time.Time{}
	}
	if s.Node.HasStatus && !s.Node.Synced {
		if k.unsyncFrom.IsZero() {
			k.unsyncFrom, k.unsyncMark = now, time.Time{}
		}
		if k.due(&k.unsyncMark, now) {
			k.led.OutOfSync(k.unsyncFrom, now)
		}
	} else {
		k.unsyncFrom = time.Time{}
	}
	k.noteProofs(s.Rows, now)
	k.mu.Lock()
	newEpoch := k.read && k.readEpoch != k.currentEpoch()
	k.mu.Unlock()
	if newEpoch {
		notify(k.wake)
	}
}

// due tells whether a span last written at *mark is to be written now
// (its first write, or MarkEvery later), and if so moves the mark.
func (k *HistoryKeeper) due(mark *time.Time, now time.Time) bool {
	if !mark.IsZero() && now.Sub(*mark) < k.opts.MarkEvery {
		return false
	}
	*mark = now
	return true
}

// noteProofs records each proof the event feed's throughput saw from start
// to end: a row's last phases changed to ones not recorded yet.
func (k *HistoryKeeper) noteProofs(rows []model.Row, now time.Time) {
	for i := range rows {
		r := &rows[i]
		if r.Service == "" || len(r.ID) == 0 {
			continue
		}
		phases := [2]time.Duration{r.Timing.LastK2Pow, r.Timing.LastDisk}
		if phases == k.proofs[r.Service] || phases[1] <= 0 {
			continue
		}
		k.proofs[r.Service] = phases
		k.led.AddProof(ledger.Proof{ID: r.ID, Epoch: proofEpoch(k.opts.Timing, now),
			K2Pow: phases[0], Disk: phases[1], Bytes: r.SizeBytes})
	}
}

// proofEpoch is the publish epoch a proof finished at is for: the epoch
// whose PoET round ended last.
func proofEpoch(t model.Timing, at time.Time) uint32 {
	e := t.Epoch(at)
	if at.Before(t.RoundEnd(e)) && e > 0 {
		e--
	}
	return uint32(e)
}

// decorate sets the rows' records and malicious flag, the ledger's state
// and its errors, from what was last read.
func (k *HistoryKeeper) decorate(s *model.Snapshot) {
	k.mu.Lock()
	recs, bad := k.recs, k.malicious
	s.Ledger.Backfill = k.backfill
	histErr, readErr := k.histErr, k.readErr
	k.mu.Unlock()
	for i := range s.Rows {
		r := &s.Rows[i]
		if len(r.ID) == 0 {
			continue
		}
		r.Epochs = recs[string(r.ID)]
		if bad[string(r.ID)] && !r.Has(model.HealthMalicious) {
			r.Health = append(r.Health, model.HealthMalicious)
		}
	}
	st := k.led.Status()
	s.Ledger.Path, s.Ledger.Dropped = k.led.Path(), st.Dropped
	for _, err := range []error{k.openErr, st.Err, readErr} {
		if err != nil {
			s.Node.Errors = append(s.Node.Errors, model.SourceError{Source: "ledger", Message: err.Error()})
		}
	}
	if histErr != "" {
		s.Node.Errors = append(s.Node.Errors, model.SourceError{Source: "node/history", Message: histErr})
	}
}

// skew is how far the node's clock is behind ours, 0 when unknown.
func (k *HistoryKeeper) skew() time.Duration {
	if k.opts.Skew == nil {
		return 0
	}
	if d, ok := k.opts.Skew(); ok {
		return d
	}
	return 0
}
