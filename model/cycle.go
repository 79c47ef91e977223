package model

import (
	"fmt"
	"strings"
	"time"
)

// Timing is the network's clock as far as the PoET cycle goes. Mainnet's
// values are MainnetTiming; community PoETs use other phase shifts and gaps.
type Timing struct {
	Genesis        time.Time
	LayerDuration  time.Duration
	LayersPerEpoch uint32
	// PhaseShift is how long after an epoch starts its PoET round ends.
	PhaseShift time.Duration
	// CycleGap is how long after a round ends the next one starts: the
	// window in which proofs are generated.
	CycleGap time.Duration
	// Source names where the values come from ("mainnet defaults", "config").
	Source string
}

// MainnetTiming is Spacemesh mainnet: genesis 2023-07-14T08:00:00Z, 5-minute
// layers, 4032 layers (two weeks) per epoch, PoET phase shift 240 h, cycle
// gap 12 h.
func MainnetTiming() Timing {
	return Timing{
		Genesis:        time.Date(2023, 7, 14, 8, 0, 0, 0, time.UTC),
		LayerDuration:  5 * time.Minute,
		LayersPerEpoch: 4032,
		PhaseShift:     240 * time.Hour,
		CycleGap:       12 * time.Hour,
		Source:         "mainnet defaults",
	}
}

// Same reports whether t and o describe the same clock (Source aside).
func (t Timing) Same(o Timing) bool {
	return t.Genesis.Equal(o.Genesis) && t.LayerDuration == o.LayerDuration &&
		t.LayersPerEpoch == o.LayersPerEpoch && t.PhaseShift == o.PhaseShift && t.CycleGap == o.CycleGap
}

// EpochDuration is LayersPerEpoch layers.
func (t Timing) EpochDuration() time.Duration {
	return time.Duration(t.LayersPerEpoch) * t.LayerDuration
}

// valid reports whether the clock can be computed with at all.
func (t Timing) valid() bool {
	return !t.Genesis.IsZero() && t.EpochDuration() > 0 && t.CycleGap > 0 && t.PhaseShift >= 0
}

// Epoch is the epoch containing now (0 before genesis).
func (t Timing) Epoch(now time.Time) uint64 {
	if !t.valid() || now.Before(t.Genesis) {
		return 0
	}
	return uint64(now.Sub(t.Genesis) / t.EpochDuration())
}

// RoundEnd is when the PoET round of epoch n ends: the epoch's start plus
// the phase shift.
func (t Timing) RoundEnd(n uint64) time.Time {
	return t.Genesis.Add(time.Duration(n)*t.EpochDuration() + t.PhaseShift)
}

// NextCycle is the cycle gap now is in, or else the next one: the PoET round
// ends at an epoch's start plus the phase shift (the epoch containing now,
// else the next), the gap opens then and closes CycleGap later. A round whose
// gap has closed is past; the earliest one whose gap has not closed is it.
func NextCycle(now time.Time, t Timing) CycleInfo {
	if !t.valid() {
		return CycleInfo{Source: t.Source}
	}
	ed := t.EpochDuration()
	// The smallest n with RoundEnd(n)+CycleGap > now: n·ed > now − genesis
	// − shift − gap, so n = floor(x/ed) + 1 (floored for x < 0 too).
	x := now.Sub(t.Genesis) - t.PhaseShift - t.CycleGap
	n := int64(x / ed)
	if x < 0 && x%ed != 0 {
		n--
	}
	n = max(n+1, 0) // before genesis: the first round
	end := t.RoundEnd(uint64(n))
	closes := end.Add(t.CycleGap)
	return CycleInfo{
		Known:     true,
		RoundEnd:  end,
		GapCloses: closes,
		InGap:     !now.Before(end) && now.Before(closes),
		Source:    t.Source,
	}
}

// NodeTiming is what the node says that bears on the cycle: NodeInfo's epoch
// size (0 when unknown) and the end of the PoET round it waits for, from its
// events (zero when unknown).
type NodeTiming struct {
	EpochSize uint32
	RoundEnd  time.Time
}

// CheckCycle is NextCycle cross-checked with the node. An epoch size other
// than the configured one is reported in Mismatch. A PoET round end from the
// node's events that is not yet past its gap is preferred (Source "node
// events"), and the configured time it disagrees with is named.
func CheckCycle(now time.Time, t Timing, n NodeTiming) CycleInfo {
	ci := NextCycle(now, t)
	var mis []string
	if n.EpochSize != 0 && n.EpochSize != t.LayersPerEpoch {
		mis = append(mis, fmt.Sprintf("the node has %d layers per epoch, the config %d: set [timing] layers_per_epoch", n.EpochSize, t.LayersPerEpoch))
	}
	if !n.RoundEnd.IsZero() && t.CycleGap > 0 && now.Before(n.RoundEnd.Add(t.CycleGap)) {
		if ci.Known && !n.RoundEnd.Equal(ci.RoundEnd) {
			mis = append(mis, fmt.Sprintf("the node's PoET round ends %s, the config says %s: check [timing] poet_phase_shift and genesis",
				n.RoundEnd.UTC().Format(time.RFC3339), ci.RoundEnd.UTC().Format(time.RFC3339)))
		}
		ci.Known = true
		ci.RoundEnd = n.RoundEnd
		ci.GapCloses = n.RoundEnd.Add(t.CycleGap)
		ci.InGap = !now.Before(ci.RoundEnd) && now.Before(ci.GapCloses)
		ci.Source = "node events"
	}
	ci.Mismatch = strings.Join(mis, "; ")
	return ci
}

// PoetRoundEndKinds are the events that carry the end of the PoET round the
// node waits for: in RoundEnd, or else as an RFC 3339 time in Detail.
var PoetRoundEndKinds = []string{"waiting_for_poet_round_end", "registered_in_poet"}

// PoetRoundEnd is the round end named by the newest such event among the
// snapshot's node-wide events and its rows' timelines; zero when none.
func PoetRoundEnd(s *Snapshot) time.Time {
	var newest time.Time
	var end time.Time
	consider := func(evs []Event) {
		for _, e := range evs {
			if !isPoetRoundEvent(e.Kind) || e.Time.Before(newest) {
				continue
			}
			if !e.RoundEnd.IsZero() {
				newest, end = e.Time, e.RoundEnd
			} else if t, ok := timeIn(e.Detail); ok {
				newest, end = e.Time, t
			}
		}
	}
	consider(s.Events)
	for i := range s.Rows {
		consider(s.Rows[i].Events)
	}
	return end
}

func isPoetRoundEvent(kind string) bool {
	for _, k := range PoetRoundEndKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// timeIn finds the first RFC 3339 time among the words of s (commas,
// semicolons, brackets, quotes and a "key=" or "key:" prefix are ignored).
func timeIn(s string) (time.Time, bool) {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == '(' || r == ')' || r == '[' || r == ']' || r == '"'
	}) {
		if i := strings.IndexAny(w, "=:"); i > 0 && isKeyWord(w[:i]) {
			w = w[i+1:]
		}
		if t, err := time.Parse(time.RFC3339Nano, w); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// isKeyWord reports whether w looks like a field name: letters and underscores.
func isKeyWord(w string) bool {
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_') {
			return false
		}
	}
	return true
}
