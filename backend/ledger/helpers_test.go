package ledger

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"postdeck/model"
)

// testTiming is a small network: 10 one-hour layers an epoch, the PoET round
// ends 6 h into each epoch, a 2 h cycle gap.
var testTiming = model.Timing{
	Genesis:        time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
	LayerDuration:  time.Hour,
	LayersPerEpoch: 10,
	PhaseShift:     6 * time.Hour,
	CycleGap:       2 * time.Hour,
}

// epochAt is a time h hours into epoch e.
func epochAt(e int, h float64) time.Time {
	return testTiming.Genesis.Add(time.Duration(e)*10*time.Hour + time.Duration(h*float64(time.Hour)))
}

// testClock is a settable clock for Options.Now.
type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time { return c.t }

func openAt(t *testing.T, path string, now *testClock) *Ledger {
	t.Helper()
	l, err := Open(path, Options{Timing: testTiming, Now: now.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func openTemp(t *testing.T, now *testClock) (*Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", FileName)
	return openAt(t, path, now), path
}

func flush(t *testing.T, l *Ledger) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func records(t *testing.T, l *Ledger, ids []Identity, from, to uint32) map[string]model.EpochRecord {
	t.Helper()
	recs, err := l.Records(ids, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(ids)*int(to-from+1) {
		t.Fatalf("%d records, want %d", len(recs), len(ids)*int(to-from+1))
	}
	out := map[string]model.EpochRecord{}
	for _, r := range recs {
		out[key(r.Name, r.Epoch)] = r
	}
	return out
}

func key(name string, e uint32) string { return name + "/" + string(rune('0'+e)) }

func ident(name string, b byte) Identity { return Identity{Name: name, ID: []byte{b, b, b}} }

func ev(kind string, id Identity, at time.Time) model.Event {
	return model.Event{Kind: kind, Smesher: id.ID, Time: at}
}
