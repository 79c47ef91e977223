package sim

import (
	"testing"
	"time"

	"postdeck/model"
)

// A live sim's date is in a cycle gap, where mainnet's proofs are, an hour
// into it: a date late in a gap moves back to its first hour (else the
// demo's plan would say every proof misses), a date before one moves an
// hour into the next.
func TestProvingDateIsInACycleGap(t *testing.T) {
	m := model.MainnetTiming()
	in := time.Date(2026, 12, 21, 14, 0, 0, 0, time.UTC)    // round 89 ended at 08:00
	late := time.Date(2026, 12, 21, 19, 30, 0, 0, time.UTC) // its gap closes at 20:00
	before := time.Date(2026, 12, 21, 6, 0, 0, 0, time.UTC) // two hours before it
	after := time.Date(2026, 12, 22, 6, 0, 0, 0, time.UTC)  // its gap closed at 20:00
	for _, c := range []struct{ now, want time.Time }{
		{in, m.RoundEnd(89).Add(time.Hour)},
		{late, m.RoundEnd(89).Add(time.Hour)},
		{before, m.RoundEnd(89).Add(time.Hour)},
		{after, m.RoundEnd(90).Add(time.Hour)},
	} {
		got := ProvingDate(c.now)
		if !got.Equal(c.want) || !model.NextCycle(got, m).InGap {
			t.Errorf("ProvingDate(%s) = %s, want %s in a gap", c.now, got, c.want)
		}
	}
}
