package ledger

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"postdeck/model"
)

// Each event kind lands on the record of the publish epoch it serves.
func TestEventsLandOnTheirPublishEpoch(t *testing.T) {
	registered := func(r model.EpochRecord) bool { return r.Registration.Done }
	tests := []struct {
		name  string
		event model.Event
		epoch uint32
		holds func(model.EpochRecord) bool
	}{
		{"registered_in_poet joins the round it names", withRoundEnd(ev("registered_in_poet", idA, epochAt(2, 7)), 3), 3, registered},
		{"registered_in_poet without a round: the next to end", ev("registered_in_poet", idA, epochAt(2, 7)), 3, registered},
		{"deprecated poet_wait_round", ev("poet_wait_round", idA, epochAt(2, 7.5)), 3, registered},
		{"deprecated poet_wait_proof, during the round", ev("poet_wait_proof", idA, epochAt(3, 1)), 3, registered},
		{"waiting_for_poet_round_end", withRoundEnd(ev("waiting_for_poet_round_end", idA, epochAt(2, 9)), 3), 3, registered},
		{"best_proof_selected: the round that ended", ev("best_proof_selected", idA, epochAt(3, 6.5)), 3,
			func(r model.EpochRecord) bool { return r.PoetProof.Done && !r.Registration.Done }},
		{"post_start", ev("post_start", idA, epochAt(3, 6.5)), 3,
			func(r model.EpochRecord) bool { return !r.Proof.Started.IsZero() && r.PoetProof.Done }},
		{"post_complete after the epoch's end is late", ev("post_complete", idA, epochAt(4, 1)), 3,
			func(r model.EpochRecord) bool { return r.Proof.Late && !r.Proof.Failed }},
		{"post_complete with failure", model.Event{Kind: "post_complete", Smesher: idA.ID, Time: epochAt(3, 7), Failure: true}, 3,
			func(r model.EpochRecord) bool { return r.Proof.Failed }},
		{"atx_published: target epoch − 1", model.Event{Kind: "atx_published", Smesher: idA.ID, Time: epochAt(3, 8), Epoch: 4, ATXID: []byte{7}}, 3,
			func(r model.EpochRecord) bool { return r.ATX != nil && r.ATX.ID[0] == 7 }},
		{"eligibilities of epoch 4", model.Event{Kind: "eligibilities", Smesher: idA.ID, Time: epochAt(3, 9), Epoch: 4, Eligibilities: 3, EligibleLayers: 2}, 3,
			func(r model.EpochRecord) bool {
				return r.Eligibilities == model.Eligibilities{N: 3, Layers: 2, Known: true}
			}},
		{"eligibilities from a feed without layers", model.Event{Kind: "eligibilities", Smesher: idA.ID, Time: epochAt(3, 9), Epoch: 4, Eligibilities: 3}, 3,
			func(r model.EpochRecord) bool {
				return r.Eligibilities == model.Eligibilities{N: 3, Layers: 3, Known: true}
			}},
		{"a proposal of layer 42", model.Event{Kind: "proposal", Smesher: idA.ID, Time: epochAt(4, 2), Layer: 42}, 3,
			func(r model.EpochRecord) bool { return r.Proposals.N == 1 }},
		{"malfeasance marks every epoch", ev("malfeasance", idA, epochAt(3, 1)), 1,
			func(r model.EpochRecord) bool { return r.Malicious }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := openTemp(t, &testClock{epochAt(9, 0)})
			l.AddEvent(tc.event)
			l.AddEvent(model.Event{Kind: "proof_downloaded_from_poet", Time: epochAt(3, 6)}) // node-wide: ignored
			flush(t, l)
			got := records(t, l, []Identity{idA, idB}, 1, 4)
			for e := uint32(1); e <= 4; e++ {
				r := got[key("a.key", e)]
				if e == tc.epoch && !tc.holds(r) {
					t.Errorf("epoch %d record %+v does not show the event", e, r)
				}
				// Every other epoch is as blank as b.key's, which had no event.
				blank := got[key("b.key", e)]
				blank.Name, blank.ID, blank.Malicious = r.Name, r.ID, r.Malicious
				if e != tc.epoch && !reflect.DeepEqual(r, blank) {
					t.Errorf("the event also landed on epoch %d: %+v", e, r)
				}
			}
		})
	}
}

func TestANodeOutOfSyncIsTheWhy(t *testing.T) {
	now := &testClock{epochAt(6, 0)}
	l, _ := openTemp(t, now)
	l.Observed(epochAt(2, 0), now.t)
	l.OutOfSync(epochAt(3, 8), epochAt(3, 9))
	l.AddEvent(withRoundEnd(ev("registered_in_poet", idA, epochAt(2, 7)), 3))
	l.AddEvent(ev("post_start", idA, epochAt(3, 6.2)))
	l.AddEvent(ev("post_complete", idA, epochAt(3, 7)))
	l.AddATXs(HistoryQuery{IDs: [][]byte{idA.ID}, FromEpoch: 3, ToEpoch: 4}, nil)
	flush(t, l)
	got := records(t, l, []Identity{idA}, 3, 4)
	if why := model.Why(got[key("a.key", 3)]); why != model.WhyOutOfSync {
		t.Errorf("proof done, node out of sync, no ATX: why %q, want %q", why, model.WhyOutOfSync)
	}
	if why := model.Why(got[key("a.key", 4)]); why != model.WhyNoRegistration {
		t.Errorf("the next epoch (in sync, watched, never registered): why %q", why)
	}
}

func withRoundEnd(e model.Event, round uint64) model.Event {
	e.RoundEnd = testTiming.RoundEnd(round)
	return e
}

// A failed proof retried: the retry's outcome is the record's, and an old
// event replayed out of order changes nothing.
func TestARetriedProofKeepsTheLatestOutcome(t *testing.T) {
	l, _ := openTemp(t, &testClock{epochAt(9, 0)})
	first := ev("post_start", idA, epochAt(3, 6.2))
	failed := model.Event{Kind: "post_complete", Smesher: idA.ID, Time: epochAt(3, 6.5), Failure: true}
	retry, ok := ev("post_start", idA, epochAt(3, 6.6)), ev("post_complete", idA, epochAt(3, 7))
	for _, e := range []model.Event{first, failed, retry, ok} {
		l.AddEvent(e)
	}
	flush(t, l)
	l.AddEvent(first)
	l.AddEvent(failed)
	flush(t, l)
	p := records(t, l, []Identity{idA}, 3, 3)[key("a.key", 3)].Proof
	if p.Failed || !p.Started.Equal(retry.Time) || !p.Completed.Equal(ok.Time) {
		t.Errorf("proof %+v, want the retry's start and its successful completion", p)
	}
}

// The node replays its last events on every reconnect (a restart's replay
// may also reach back past later events):
// every kind of event given again leaves every record as it was.
func TestAReplayChangesNothing(t *testing.T) {
	l, _ := openTemp(t, &testClock{epochAt(9, 0)})
	events := []model.Event{
		ev("waiting_for_poet_registration_window", idA, epochAt(2, 6.5)),
		withRoundEnd(ev("registered_in_poet", idA, epochAt(2, 7)), 3),
		ev("best_proof_selected", idA, epochAt(3, 6.2)),
		ev("post_start", idA, epochAt(3, 6.3)),
		{Kind: "post_complete", Smesher: idA.ID, Time: epochAt(3, 6.5), Failure: true},
		ev("post_start", idA, epochAt(3, 6.6)),
		ev("post_complete", idA, epochAt(3, 7)),
		{Kind: "atx_published", Smesher: idA.ID, Time: epochAt(3, 8), Epoch: 4, ATXID: []byte{7}},
		{Kind: "eligibilities", Smesher: idA.ID, Time: epochAt(3, 9), Epoch: 4, Eligibilities: 3, EligibleLayers: 2},
		{Kind: "proposal", Smesher: idA.ID, Time: epochAt(4, 2), Layer: 42},
		{Kind: "proposal", Smesher: idA.ID, Time: epochAt(4, 3), Layer: 43},
	}
	for _, e := range events {
		l.AddEvent(e)
	}
	flush(t, l)
	want := records(t, l, []Identity{idA}, 2, 4)
	backwards := make([]model.Event, len(events))
	for i, e := range events {
		backwards[len(events)-1-i] = e
	}
	var got map[string]model.EpochRecord
	for _, replay := range [][]model.Event{backwards, events} {
		for _, e := range replay {
			l.AddEvent(e)
		}
		flush(t, l)
		got = records(t, l, []Identity{idA}, 2, 4)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after a replay:\n%+v\nwant\n%+v", got, want)
		}
	}
	if r := got[key("a.key", 3)]; r.Proposals.N != 2 || r.Proof.Failed || r.ATX == nil {
		t.Errorf("epoch 3 %+v: want 2 proposals, the retry's success, the ATX", r)
	}
}

// A batch folds its upserts into multi-row statements by shape; the
// records must come out as if every event had been committed alone, in
// order, however the kinds interleave on one record (a retry after a
// failed proof, an ATX between them), and the same through AddEvent, which
// leaves out the steps it has written already.
func TestAFoldedBatchEqualsOneWriteAtATime(t *testing.T) {
	ids := []Identity{idA, idB, ident("c.key", 3)}
	kinds := []string{"post_start", "post_complete", "atx_published", "registered_in_poet", "eligibilities", "proposal", "best_proof_selected"}
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		var ops []op
		var evs []model.Event
		for range 60 {
			id := ids[rng.IntN(len(ids))]
			e := model.Event{Kind: kinds[rng.IntN(len(kinds))], Smesher: id.ID, Time: epochAt(3, 6+rng.Float64()*3),
				Failure: rng.IntN(2) == 0, Epoch: 4, ATXID: []byte{byte(rng.IntN(3) + 1)},
				Eligibilities: rng.IntN(4), Layer: 40 + uint32(rng.IntN(5))}
			if rng.IntN(8) == 0 { // a measured proof, as polling records it
				ops, evs = append(ops, proofOp(Proof{ID: id.ID, Epoch: 3, K2Pow: time.Duration(rng.IntN(9)), Disk: 5, Bytes: 7, Failed: e.Failure})), append(evs, model.Event{})
			} else if o, ok := eventOp(e, testTiming); ok {
				ops, evs = append(ops, o), append(evs, e)
			}
		}
		now := &testClock{epochAt(9, 0)}
		folded, _ := openTemp(t, now)
		alone, _ := openTemp(t, now)
		queued, _ := openTemp(t, now) // through AddEvent, which skips steps it already wrote
		if err := folded.commit(ops); err != nil {
			t.Fatal(err)
		}
		for i, o := range ops {
			if err := alone.commit([]op{o}); err != nil {
				t.Fatal(err)
			}
			if evs[i].Kind == "" {
				queued.enqueue(o)
			} else {
				queued.AddEvent(evs[i])
			}
			if i%7 == 0 {
				flush(t, queued)
			}
		}
		flush(t, queued)
		want := records(t, alone, ids, 2, 4)
		for name, l := range map[string]*Ledger{"folded": folded, "queued": queued} {
			got := records(t, l, ids, 2, 4)
			for k := range want {
				if !reflect.DeepEqual(got[k], want[k]) {
					t.Errorf("seed %d, %s: %s %+v\nwant (one at a time) %+v", seed, k, name, got[k], want[k])
				}
			}
		}
	}
}
