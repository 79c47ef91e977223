package backend

import (
	"bytes"
	"testing"
	"time"

	"postdeck/backend/ledger"
	"postdeck/model"
	"postdeck/sim"
)

// Every why-line the simulator produces comes through the real keeper over
// the node's sockets: a manual sim that replays its last past epoch's
// events (as a node that ran through it) gives the failed proof's
// post_complete, so that epoch says "PoST proof failed"; the missed ATX's
// epoch, of which the node kept no events and postdeck saw nothing, says
// "not observed"; an ordinary epoch says nothing; the malicious identity is
// flagged critical on its row and in every record. With postdeck's watched
// time over the failed epoch's registration window (an earlier run's), the
// identity that never registered says "no PoET registration", and the one
// that proved in time but whose ATX the node lacks "ATX not published".
func TestEveryWhyLineOfTheSimulatorReachesTheRows(t *testing.T) {
	t.Parallel()
	s := startSimFor(t, sim.Options{IDs: 6, Seed: 66, Malicious: true, Manual: true, ReplayHistory: true})
	cases := s.HistoryCases()
	// postdeck ran through the registration window of the failed epoch
	// (an earlier run's watched time), so a registration not seen there is
	// known to be missing.
	state, timing := t.TempDir(), model.MainnetTiming()
	led, err := ledger.Open(ledger.PathIn(state), ledger.Options{Timing: timing})
	if err != nil {
		t.Fatal(err)
	}
	window := timing.RoundEnd(uint64(cases.FailedEpoch - 1))
	led.Observed(window.Add(-time.Minute), window.Add(timing.CycleGap+time.Minute))
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	r := startKeeper(t, s, state, HistoryOptions{})
	// Malfeasance is listed after ATXs and rewards: wait for it too.
	snap := r.snapshot("the failed proof's epoch listed, its failure seen and the malfeasance listed", func(snap model.Snapshot) bool {
		rec, _ := record(snap, cases.FailedProof, cases.FailedEpoch)
		bad, _ := record(snap, cases.Malicious, cases.FailedEpoch)
		return listedFor(cases.MissedEpoch)(snap) && listedFor(cases.FailedEpoch)(snap) && rec.Proof.Failed && bad.Malicious
	})
	first := s.Layout().Services[0].NodeID // always well
	for _, c := range []struct {
		what  string
		id    []byte
		epoch uint32
		atx   bool
		why   string
	}{
		{"an ordinary epoch", first, cases.FailedEpoch, true, ""},
		{"the failed proof", cases.FailedProof, cases.FailedEpoch, false, model.WhyProofFailed},
		{"the missed ATX", cases.MissedATX, cases.MissedEpoch, false, model.WhyNotObserved},
		{"the registration not made in a watched window", cases.Unregistered, cases.FailedEpoch, false, model.WhyNoRegistration},
		{"the proof made in time without an ATX", cases.Unpublished, cases.FailedEpoch, false, model.WhyATXNotPublished},
	} {
		rec, ok := record(snap, c.id, c.epoch)
		if !ok || (rec.ATX != nil) != c.atx || model.Why(rec) != c.why {
			t.Errorf("%s, epoch %d: found %v, ATX %v, why %q; want ATX %v, why %q", c.what, c.epoch, ok, rec.ATX, model.Why(rec), c.atx, c.why)
		}
	}
	// The failed identity's record came from both sides: the node's List
	// (no ATX) and the replayed events (registered, proof started, failed).
	if rec, _ := record(snap, cases.FailedProof, cases.FailedEpoch); !rec.ATXListed || !rec.Registration.Done || rec.Proof.Started.IsZero() {
		t.Errorf("failed proof's record: listed %v, registration %+v, proof %+v", rec.ATXListed, rec.Registration, rec.Proof)
	}
	for _, row := range snap.Rows {
		bad := bytes.Equal(row.ID, cases.Malicious)
		if row.Has(model.HealthMalicious) != bad || bad && !row.Critical() {
			t.Errorf("row %s: health %v, malicious %v", row.Label(), row.Health, bad)
		}
		for _, rec := range row.Epochs {
			if rec.Malicious != bad {
				t.Errorf("row %s epoch %d: malicious %v, want %v", row.Label(), rec.Epoch, rec.Malicious, bad)
			}
		}
	}
	if t.Failed() {
		t.Logf("current epoch %d, cases %+v", s.CurrentEpoch(), cases)
	}
}
