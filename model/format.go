package model

import (
	"fmt"
	"math"
	"strconv"
)

// HumanBytes formats a size in binary units: "512 B", "1.5 KiB", "256 GiB".
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatUint(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := float64(n)/unit, 0
	for v >= unit && i < len(units)-1 {
		v /= unit
		i++
	}
	switch {
	case v == math.Trunc(v) || v >= 100:
		return fmt.Sprintf("%.0f %s", v, units[i])
	default:
		return fmt.Sprintf("%.1f %s", v, units[i])
	}
}

// ProgressCell is the compact progress of a pass: "k2pow p1" while in the
// proof-of-work phase, else the share read and the pass, "62% p2". The
// percent is rounded down: 100% only when the pass is read to the end.
func ProgressCell(p *Progress) string {
	if p == nil {
		return ""
	}
	if p.Phase == "k2pow" || p.Position == 0 {
		return fmt.Sprintf("k2pow p%d", p.Pass)
	}
	return fmt.Sprintf("%3.0f%% p%d", math.Floor(p.Percent), p.Pass)
}
