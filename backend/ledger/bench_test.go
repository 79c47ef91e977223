package ledger

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"postdeck/model"
)

const (
	benchIDs     = 1000
	benchEpochs  = 50
	benchRewards = 3 // per identity and epoch
)

// benchHistory is a backfill: every identity's ATX of every epoch and its
// rewards in the epoch after, as the node's Lists return them.
func benchHistory() (HistoryQuery, []model.ATX, []model.Reward) {
	q := HistoryQuery{FromEpoch: 1, ToEpoch: benchEpochs}
	var atxs []model.ATX
	var rewards []model.Reward
	for i := range benchIDs {
		id := []byte{byte(i), byte(i >> 8), 0xbe, 0xef}
		q.IDs = append(q.IDs, id)
		for e := uint32(1); e <= benchEpochs; e++ {
			atxs = append(atxs, model.ATX{ID: append([]byte{byte(e)}, id...), SmesherID: id, PublishEpoch: e, Weight: 1000, NumUnits: 4})
			for r := range uint32(benchRewards) {
				rewards = append(rewards, model.Reward{Layer: (e+1)*testTiming.LayersPerEpoch + r, Total: 1e9, Smesher: id})
			}
		}
	}
	return q, atxs, rewards
}

// BenchmarkBackfill stores 1000 identities × 50 epochs of ATXs and rewards
// (the issue asks for well under 10 s).
func BenchmarkBackfill(b *testing.B) {
	q, atxs, rewards := benchHistory()
	for b.Loop() {
		b.StopTimer()
		l, err := Open(filepath.Join(b.TempDir(), FileName), Options{Timing: testTiming})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		l.AddATXs(q, atxs)
		l.AddRewards(q, rewards)
		if err := l.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		l.Close()
		b.StartTimer()
	}
}

// BenchmarkRecordsForTheTable is one snapshot's read: every identity's
// last closed epoch, out of a 50-epoch ledger.
func BenchmarkRecordsForTheTable(b *testing.B) {
	q, atxs, rewards := benchHistory()
	l, err := Open(filepath.Join(b.TempDir(), FileName), Options{Timing: testTiming, Now: func() time.Time { return epochAt(60, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	l.AddATXs(q, atxs)
	l.AddRewards(q, rewards)
	if err := l.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	ids := make([]Identity, len(q.IDs))
	for i, id := range q.IDs {
		ids[i] = Identity{ID: id}
	}
	for b.Loop() {
		if recs, err := l.Records(ids, benchEpochs-1, benchEpochs-1); err != nil || len(recs) != benchIDs {
			b.Fatal(len(recs), err)
		}
	}
}

// BenchmarkEvents is a steady dashboard's write load: 100 new events of
// the kinds a proving fleet sends most (a simulated node sends about 70 a
// second with 1000 identities), queued one by one and committed.
func BenchmarkEvents(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), FileName), Options{Timing: testTiming})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	kinds := []string{"waiting_for_poet_registration_window", "registered_in_poet", "post_start", "post_complete", "atx_published"}
	n := 0
	for b.Loop() {
		for range 100 {
			id := Identity{ID: []byte{byte(n), byte(n >> 8), 0xbe, 0xef}}
			e := 1 + n/benchIDs%benchEpochs
			l.AddEvent(model.Event{Kind: kinds[n%len(kinds)], Smesher: id.ID, Time: epochAt(e, 7), Epoch: uint32(e + 1)})
			n++
		}
		if err := l.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
