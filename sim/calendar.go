package sim

import (
	"time"

	"postdeck/model"
)

// ProvingDate is a date on mainnet's calendar at which a sim that is not
// Manual tells the truth: its cycle proves all the time and publishes the
// current epoch's ATXs, which on mainnet happens only in the cycle gap after
// the epoch's PoET round ends. It is one hour into the gap now is in, else
// into the next: an hour, so that a proof started shortly before the sim's
// start is still inside it, and always the same hour, so that a demo's plan
// tells one story on any day (with the gap nearly closed, every proof would
// miss it). A demo that was told no date runs at it.
func ProvingDate(now time.Time) time.Time {
	return model.NextCycle(now, mainnet).RoundEnd.Add(time.Hour)
}
