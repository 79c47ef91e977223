package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SmidgePerSMH is how many smidge make one SMH.
const SmidgePerSMH = 1_000_000_000

// SMH writes an amount of smidge in SMH with about three significant
// digits, trailing zeros dropped: "12.4 SMH", "0.005 SMH", "1234 SMH".
func SMH(smidge uint64) string {
	v := float64(smidge) / SmidgePerSMH
	var s string
	switch {
	case v >= 100:
		s = strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		s = strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		s = strconv.FormatFloat(v, 'f', 2, 64)
	default:
		s = strconv.FormatFloat(v, 'g', 3, 64)
	}
	if strings.Contains(s, ".") && !strings.ContainsAny(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s + " SMH"
}

// LastCompleteEpoch is Row.LastEpoch without knowing the current epoch:
// the newest record whose epoch has ended (its rewards epoch has begun), as
// the ledger judged when it was read.
func (r *Row) LastCompleteEpoch() (EpochRecord, bool) {
	for i := len(r.Epochs) - 1; i >= 0; i-- {
		if !r.Epochs[i].Open {
			return r.Epochs[i], true
		}
	}
	return EpochRecord{}, false
}

// EpochCell is the table's LAST EPOCH cell for a record: "✓ 12.4 SMH" (with
// the why-line after a dot when rewards fell short), "✗ " and the why-line
// when the ATX is missing, "?" when nothing was observed (the detail view
// says why).
func EpochCell(r EpochRecord) string {
	why := Why(r)
	switch {
	case r.ATX != nil && why == "":
		return "✓ " + SMH(r.Rewards.Sum)
	case r.ATX != nil:
		return "✓ " + SMH(r.Rewards.Sum) + " · " + why
	case why == WhyNotObserved:
		return "?"
	case why == "":
		return "✗" // cannot happen for an ended epoch; kept honest all the same
	}
	return "✗ " + why
}

// epochKey sorts the LAST EPOCH column: missing ATXs first, then "not
// observed", then ATXs by their rewards; rows without a record last when
// descending, first when ascending.
func epochKey(r *Row) float64 {
	rec, ok := r.LastCompleteEpoch()
	switch {
	case !ok:
		return -1
	case rec.ATX != nil:
		return 2 + float64(rec.Rewards.Sum)/SmidgePerSMH
	case Why(rec) == WhyNotObserved:
		return 1
	}
	return 0
}

// EpochLine is one line of an identity's epoch timeline: the epoch, the ATX
// with its weight and units (or ✗), the rewards of the next epoch, and the
// why-line when something failed. Shared by the detail view and `postdeck
// history`.
func EpochLine(r EpochRecord) string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch %d  ", r.Epoch)
	switch {
	case r.ATX != nil:
		fmt.Fprintf(&b, "ATX ✓ weight %d, %d units", r.ATX.Weight, r.ATX.NumUnits)
	case r.Open:
		b.WriteString("ATX … epoch still running")
	default:
		b.WriteString("ATX ✗")
	}
	if p := r.Proof; p.K2Pow > 0 || p.Disk > 0 {
		fmt.Fprintf(&b, "  ·  proof k2pow %s, read %s", p.K2Pow.Round(time.Second), p.Disk.Round(time.Second))
	}
	fmt.Fprintf(&b, "  ·  rewards %s", RewardsText(r))
	if r.Malicious {
		b.WriteString("  ·  malicious")
	}
	if why := Why(r); why != "" {
		b.WriteString("  —  " + why)
	}
	return b.String()
}

// RewardsText is a record's rewards of epoch e+1: count and sum, "?" when
// the node's reward history for that epoch was not read, and whether the
// epoch is still running.
func RewardsText(r EpochRecord) string {
	if !r.Rewards.Listed && r.Rewards.Count == 0 {
		return fmt.Sprintf("in epoch %d: ?", r.Rewards.Epoch)
	}
	s := fmt.Sprintf("in epoch %d: %d, %s", r.Rewards.Epoch, r.Rewards.Count, SMH(r.Rewards.Sum))
	if r.RewardsOpen {
		s += " so far"
	}
	return s
}
