package sim

import (
	"time"

	"postdeck/model"
)

// ProvingDate is a date on mainnet's calendar at which a sim that is not
// Manual tells the truth: its cycle proves all the time and publishes the
// current epoch's ATXs, which on mainnet happens only in the cycle gap after
// the epoch's PoET round ends. It is now when now is in a gap, else one hour
// into the next gap (an hour, so that a proof started shortly before the
// sim's start is still inside it). A demo that was told no date runs at it.
func ProvingDate(now time.Time) time.Time {
	c := model.NextCycle(now, mainnet)
	if c.InGap {
		return now
	}
	return c.RoundEnd.Add(time.Hour)
}
