package backend

import (
	"context"
	"database/sql"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/ledger"
	"postdeck/model"
)

// A proof the event feed's throughput watched from start to end is stored
// once, for the epoch whose round ended last, and reaches the planner as
// that identity's measure.
func TestAWatchedProofBecomesThePlannersMeasure(t *testing.T) {
	mainnet := model.MainnetTiming()
	now := mainnet.RoundEnd(87).Add(3 * time.Hour)
	clock := func() time.Time { return now }
	led, err := ledger.Open(filepath.Join(t.TempDir(), ledger.FileName), ledger.Options{Timing: mainnet, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	cfg := &config.Config{}
	config.ApplyDefaults(cfg)
	planner := NewPlanner(cfg, clock)
	k := NewHistoryKeeper(nil, led, nil, planner, nil, HistoryOptions{Timing: mainnet, Now: clock})
	id := []byte{0xab, 0xcd}
	row := model.Row{ID: id, Name: "a.key", Service: "a", SizeBytes: 100 << 30,
		Timing: model.ProofTiming{LastK2Pow: 20 * time.Minute, LastDisk: 1000 * time.Second}}
	for range 2 { // the second poll sees the same proof: nothing new
		k.Hook(&model.Snapshot{Rows: []model.Row{row}})
	}
	k.reread(context.Background())
	m, ok := planner.measured[hex.EncodeToString(id)]
	if want := float64(100<<30) / 1000; !ok || m.ReadBytesPerSec != want || m.K2Pow != 20*time.Minute {
		t.Errorf("planner's measure %+v (%v), want %.0f B/s and 20m k2pow", m, ok, want)
	}
	if got := led.Measured()[hex.EncodeToString(id)]; got.Epoch != 87 {
		t.Errorf("proof stored for epoch %d, want 87 (the round that ended last)", got.Epoch)
	}
}

func TestProofEpochIsTheRoundThatEndedLast(t *testing.T) {
	mn := model.MainnetTiming()
	for _, tc := range []struct {
		at   time.Time
		want uint32
	}{
		{mn.RoundEnd(87).Add(time.Hour), 87},
		{mn.RoundEnd(88).Add(-time.Hour), 87},
		{mn.RoundEnd(88), 88},
	} {
		if got := proofEpoch(mn, tc.at); got != tc.want {
			t.Errorf("proofEpoch(%s) = %d, want %d", tc.at, got, tc.want)
		}
	}
}

// The time postdeck watched is kept on the node's clock: with the node an
// hour behind this machine, polls through the PoET registration window as
// this machine counts it cover the window the node's events are dated in.
func TestWatchedTimeIsOnTheNodesClock(t *testing.T) {
	mn := model.MainnetTiming()
	for _, c := range []struct {
		skew    time.Duration
		watched bool
	}{{time.Hour, true}, {0, false}} {
		ours := mn.RoundEnd(86).Add(time.Hour) // the node's round end, on our clock
		clock := func() time.Time { return ours }
		led, err := ledger.Open(filepath.Join(t.TempDir(), ledger.FileName), ledger.Options{Timing: mn, Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		k := NewHistoryKeeper(nil, led, nil, nil, nil, HistoryOptions{Timing: mn, Now: clock,
			Skew: func() (time.Duration, bool) { return c.skew, true }})
		id := []byte{1, 2}
		for end := ours.Add(mn.CycleGap); !ours.After(end); ours = ours.Add(time.Hour) {
			k.Hook(&model.Snapshot{Rows: []model.Row{{ID: id, Name: "a.key"}}})
		}
		if err := led.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		recs, err := led.Records([]ledger.Identity{{Name: "a.key", ID: id}}, 87, 87)
		if err != nil || len(recs) != 1 {
			t.Fatalf("records %+v, %v", recs, err)
		}
		if got := recs[0].Registration.Watched; got != c.watched {
			t.Errorf("skew %s: registration window watched %v, want %v", c.skew, got, c.watched)
		}
		led.Close()
	}
}

// The skew measured jitters by milliseconds from poll to poll; the time
// watched stays one span in the file, not one a poll.
func TestAJitteringSkewKeepsOneWatchedSpan(t *testing.T) {
	mn := model.MainnetTiming()
	now := mn.RoundEnd(86)
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), ledger.FileName)
	led, err := ledger.Open(path, ledger.Options{Timing: mn, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	jitter := time.Duration(0)
	k := NewHistoryKeeper(nil, led, nil, nil, nil, HistoryOptions{Timing: mn, Now: clock,
		Skew: func() (time.Duration, bool) { return time.Second + jitter, true }})
	for i := range 20 {
		jitter = time.Duration(i%3) * time.Millisecond
		now = now.Add(time.Second)
		k.Hook(&model.Snapshot{Rows: []model.Row{{ID: []byte{1, 2}, Name: "a.key"}}})
	}
	db := closeAndOpenRaw(t, led, path)
	var n int
	if err := db.QueryRow("SELECT count(*) FROM watched").Scan(&n); err != nil || n != 1 {
		t.Errorf("%d watched spans (%v), want 1", n, err)
	}
}

// Watched time is written when watching begins and then at most every
// MarkEvery: polls every 10 s for 110 s mark 0 s … 90 s, never more than
// was watched.
func TestWatchedTimeIsWrittenEveryMarkNotEveryPoll(t *testing.T) {
	mn := model.MainnetTiming()
	start := mn.RoundEnd(86)
	now := start
	clock := func() time.Time { return now }
	path := filepath.Join(t.TempDir(), ledger.FileName)
	led, err := ledger.Open(path, ledger.Options{Timing: mn, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	k := NewHistoryKeeper(nil, led, nil, nil, nil, HistoryOptions{Timing: mn, Now: clock, MarkEvery: 30 * time.Second})
	for ; !now.After(start.Add(110 * time.Second)); now = now.Add(10 * time.Second) {
		k.Hook(&model.Snapshot{Rows: []model.Row{{ID: []byte{1, 2}, Name: "a.key"}}})
	}
	db := closeAndOpenRaw(t, led, path)
	var from, to int64
	if err := db.QueryRow("SELECT start, end FROM watched").Scan(&from, &to); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(to - from); from != start.UnixNano() || got != 90*time.Second {
		t.Errorf("watched span from %s for %s, want from %s for 1m30s", time.Unix(0, from).UTC(), got, start)
	}
}

// closeAndOpenRaw closes the ledger and opens its file as a plain database,
// to look at what was written.
func closeAndOpenRaw(t *testing.T, led *ledger.Ledger, path string) *sql.DB {
	t.Helper()
	if err := led.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
