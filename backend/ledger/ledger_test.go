package ledger

import (
	"encoding/hex"
	"reflect"
	"testing"
	"time"

	"postdeck/model"
)

var (
	idA, idB, idC, idD = ident("a.key", 0xa), ident("b.key", 0xb), ident("c.key", 0xc), ident("d.key", 0xd)
	allIDs             = []Identity{idA, idB, idC, idD}
)

// journey feeds the ledger what a node says over epochs 2–4: A goes all the
// way (but earns 2 of 3 rewards), B never gets its PoET proof, C's PoST
// proof fails, D never registers. postdeck watched from epoch 2 on.
func journey(l *Ledger) {
	reg := func(id Identity) model.Event {
		e := ev("registered_in_poet", id, epochAt(2, 7))
		e.RoundEnd = testTiming.RoundEnd(3)
		return e
	}
	events := []model.Event{
		reg(idA), ev("best_proof_selected", idA, epochAt(3, 6.1)),
		ev("post_start", idA, epochAt(3, 6.2)), ev("post_complete", idA, epochAt(3, 7)),
		{Kind: "atx_published", Smesher: idA.ID, Time: epochAt(3, 7.5), Epoch: 4, ATXID: []byte{0xa1}},
		{Kind: "eligibilities", Smesher: idA.ID, Time: epochAt(3, 8), Epoch: 4, Eligibilities: 3},
		reg(idB),
		reg(idC), ev("best_proof_selected", idC, epochAt(3, 6.1)), ev("post_start", idC, epochAt(3, 6.2)),
		{Kind: "post_complete", Smesher: idC.ID, Time: epochAt(3, 7), Failure: true},
	}
	for _, layer := range []uint32{41, 43, 45} {
		events = append(events, model.Event{Kind: "proposal", Smesher: idA.ID, Time: epochAt(4, float64(layer-40)), Layer: layer})
	}
	for _, e := range events {
		l.AddEvent(e)
	}
	ids := [][]byte{idA.ID, idB.ID, idC.ID, idD.ID}
	l.AddATXs(HistoryQuery{IDs: ids, FromEpoch: 1, ToEpoch: 4},
		[]model.ATX{{ID: []byte{0xa1}, SmesherID: idA.ID, PublishEpoch: 3, Weight: 500, NumUnits: 4}})
	l.AddRewards(HistoryQuery{IDs: ids, FromEpoch: 1, ToEpoch: 5}, []model.Reward{
		{Layer: 41, Total: 100, Smesher: idA.ID}, {Layer: 43, Total: 150, Smesher: idA.ID},
	})
	l.AddMalfeasance([]model.Malfeasance{{SmesherID: idC.ID, Kind: "double publish"}})
}

func TestLedgerKeepsTheJourneyAndSaysWhy(t *testing.T) {
	now := &testClock{epochAt(5, 1)}
	l, path := openTemp(t, now)
	l.Observed(epochAt(2, 0), epochAt(4, 0))
	l.Observed(epochAt(4, 0.05), epochAt(5, 1)) // a restart of 3 minutes: bridged
	journey(l)
	journey(l) // a backfill and a periodic List overlap, the node replays events
	flush(t, l)
	if st := l.Status(); st != (Status{}) {
		t.Fatalf("status %+v, want nothing dropped or lost", st)
	}
	got := records(t, l, allIDs, 1, 3)

	a := got[key("a.key", 3)]
	if a.ATX == nil || a.ATX.Weight != 500 || a.ATX.NumUnits != 4 || hex.EncodeToString(a.ATX.ID) != "a1" {
		t.Fatalf("A's ATX = %+v", a.ATX)
	}
	if a.Rewards != (model.EpochRewards{Epoch: 4, Count: 2, Sum: 250, Listed: true}) || a.Proposals.N != 3 || a.Eligibilities.N != 3 {
		t.Errorf("A's rewards %+v, proposals %+v, eligibilities %+v: want 2 (250) of 3, counted once", a.Rewards, a.Proposals, a.Eligibilities)
	}
	wants := map[string]string{
		key("a.key", 3): "2 of 3 rewards",
		key("b.key", 3): model.WhyPoetNotFetched,
		key("c.key", 3): model.WhyProofFailed,
		key("d.key", 3): model.WhyNoRegistration,
		key("a.key", 1): model.WhyNotObserved, // before postdeck ran; the node has no ATX
	}
	for k, want := range wants {
		if why := model.Why(got[k]); why != want {
			t.Errorf("%s: why %q, want %q", k, why, want)
		}
	}
	if !got[key("c.key", 1)].Malicious || !got[key("c.key", 3)].Malicious || got[key("a.key", 3)].Malicious {
		t.Error("the malfeasance proof should mark every record of c.key, and only those")
	}

	// The same answers after a restart.
	before, _ := l.Records(allIDs, 1, 4)
	l.Close()
	again := openAt(t, path, now)
	after, err := again.Records(allIDs, 1, 4)
	if err != nil || !reflect.DeepEqual(before, after) {
		t.Errorf("records changed across a restart (err %v)\nbefore %+v\nafter  %+v", err, before, after)
	}
}

func TestAnOpenEpochHasNoWhyYet(t *testing.T) {
	now := &testClock{epochAt(3, 9)}
	l, _ := openTemp(t, now)
	l.Observed(epochAt(2, 0), now.t)
	journey(l)
	flush(t, l)
	got := records(t, l, allIDs, 3, 3)
	for _, name := range []string{"b.key", "d.key"} {
		if why := model.Why(got[key(name, 3)]); why != "" {
			t.Errorf("%s in its running publish epoch: why %q, want none yet", name, why)
		}
	}
	if why := model.Why(got[key("c.key", 3)]); why != model.WhyProofFailed {
		t.Errorf("a failed proof shows at once: why %q", why)
	}
}

func TestMeasuredIsTheLastGoodProof(t *testing.T) {
	l, path := openTemp(t, &testClock{epochAt(5, 0)})
	const gib = 1 << 30
	l.AddProof(Proof{ID: idA.ID, Epoch: 2, K2Pow: 20 * time.Minute, Disk: 100 * time.Second, Bytes: 100 * gib})
	l.AddProof(Proof{ID: idA.ID, Epoch: 3, K2Pow: 30 * time.Minute, Disk: 200 * time.Second, Bytes: 100 * gib})
	l.AddProof(Proof{ID: idA.ID, Epoch: 4, K2Pow: time.Minute, Disk: time.Second, Bytes: 100 * gib, Failed: true})
	l.AddProof(Proof{ID: idB.ID, Epoch: 4, Failed: true})
	flush(t, l)
	want := map[string]Measured{hex.EncodeToString(idA.ID): {Epoch: 3, K2Pow: 30 * time.Minute, ReadRate: gib / 2}}
	if got := l.Measured(); !reflect.DeepEqual(got, want) {
		t.Errorf("Measured = %+v, want %+v", got, want)
	}
	l.Close()
	if got := openAt(t, path, &testClock{}).Measured(); !reflect.DeepEqual(got, want) {
		t.Errorf("after a restart Measured = %+v, want %+v", got, want)
	}
}

func TestANilLedgerDoesNothing(t *testing.T) {
	var l *Ledger
	l.AddEvent(model.Event{Kind: "post_start", Smesher: []byte{1}})
	l.AddATXs(HistoryQuery{}, nil)
	l.AddRewards(HistoryQuery{}, nil)
	l.AddMalfeasance(nil)
	l.AddProof(Proof{})
	l.Observed(time.Time{}, time.Time{})
	l.OutOfSync(time.Time{}, time.Time{})
	if recs, err := l.Records(allIDs, 0, 3); recs != nil || err != nil {
		t.Errorf("Records = %v, %v", recs, err)
	}
	if l.Measured() != nil || l.Status() != (Status{}) || l.Path() != "" || l.Flush(t.Context()) != nil || l.Close() != nil {
		t.Error("a nil ledger should answer with zero values")
	}
}

// Writers and readers side by side (run with -race): the queue and the
// caches are shared safely, and every write lands.
func TestConcurrentWritesAndReads(t *testing.T) {
	l, _ := openTemp(t, &testClock{epochAt(9, 0)})
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 50 {
				l.AddEvent(model.Event{Kind: "proposal", Smesher: idA.ID, Time: epochAt(5, float64(g*50+i)/100), Layer: uint32(50 + g*2 + i%2)})
				l.Observed(epochAt(g, 0), epochAt(g, float64(i)/10))
			}
		}()
	}
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 20 {
				if _, err := l.Records(allIDs, 0, 5); err != nil {
					t.Error(err)
				}
				l.Measured()
				l.Status()
			}
		}()
	}
	for range 8 {
		<-done
	}
	flush(t, l)
	if got := records(t, l, []Identity{idA}, 4, 4)[key("a.key", 4)].Proposals.N; got != 8 {
		t.Errorf("%d proposals counted, want 8 (layers 50–57, each once)", got)
	}
}

func TestFirstUnlistedIsWhereABackfillResumes(t *testing.T) {
	l, _ := openTemp(t, &testClock{})
	if e := l.FirstUnlisted(ListedATXs, idA.ID, 0); e != 0 {
		t.Errorf("nothing listed: %d, want 0", e)
	}
	l.AddATXs(HistoryQuery{IDs: [][]byte{idA.ID}, FromEpoch: 0, ToEpoch: 4}, nil)
	l.AddATXs(HistoryQuery{IDs: [][]byte{idA.ID}, FromEpoch: 5, ToEpoch: 6}, nil)
	l.AddATXs(HistoryQuery{IDs: [][]byte{idA.ID}, FromEpoch: 9, ToEpoch: 9}, nil)
	flush(t, l)
	if e := l.FirstUnlisted(ListedATXs, idA.ID, 0); e != 7 {
		t.Errorf("listed 0-6 and 9: resumes at %d, want 7", e)
	}
	if e := l.FirstUnlisted(ListedRewards, idA.ID, 0); e != 0 {
		t.Errorf("rewards never listed: %d, want 0", e)
	}
	if e := (*Ledger)(nil).FirstUnlisted(ListedATXs, idA.ID, 3); e != 3 {
		t.Errorf("nil ledger: %d", e)
	}
}
