package model

import (
	"math"
	"time"
)

// ThroughputSample is one /status observation of a post-service, taken at At.
// Only observations that were read are samples: an unreachable service is no
// sample (the next one measures across the gap).
type ThroughputSample struct {
	At      time.Time
	Proving bool // the service answered Proving
	// NonceStart and NonceEnd identify the pass; Position is bytes read in it
	// (0 = k2pow phase); PassBytes is the pass's size, 0 when unknown.
	NonceStart, NonceEnd uint64
	Position             uint64
	PassBytes            uint64
}

// rateWeight is how much a new interval's rate counts in the smoothed rate.
const rateWeight = 0.5

// Throughput is what one service's past samples left behind: the smoothed
// read rate of the current pass and the phases of the proof in progress and
// of the last one watched whole. The zero value is ready; Observe returns the
// next state and never changes its receiver.
type Throughput struct {
	last    ThroughputSample
	hasLast bool
	rate    float64 // smoothed bytes/s of the current pass; 0 = unknown
	// The proof in progress: proving since proofStart, whole if it was seen
	// from position 0; k2pow and disk accumulate the time in each phase.
	inProof     bool
	whole       bool
	k2pow, disk time.Duration
	// The last proof watched from its start to its end.
	lastK2Pow, lastDisk time.Duration
}

// Observe folds one sample in. The rate restarts when the pass (its nonce
// range) changes, the position goes back (a restart), the k2pow phase is
// under way, or the service stops proving.
func (t Throughput) Observe(s ThroughputSample) Throughput {
	prev, had := t.last, t.hasLast && t.last.Proving
	t.last, t.hasLast = s, true
	if !s.Proving {
		if t.inProof && t.whole {
			if had && s.At.After(prev.At) {
				t.addPhase(prev, s.At.Sub(prev.At))
			}
			t.lastK2Pow, t.lastDisk = t.k2pow, t.disk
		}
		t.inProof, t.whole, t.k2pow, t.disk, t.rate = false, false, 0, 0, 0
		return t
	}
	samePass := had && prev.NonceStart == s.NonceStart && prev.NonceEnd == s.NonceEnd
	restarted := had && samePass && s.Position < prev.Position
	if !t.inProof || restarted {
		// A new proof, or the same one begun again: time it afresh.
		t.inProof, t.whole, t.k2pow, t.disk = true, s.Position == 0, 0, 0
		had = false
	}
	dt := s.At.Sub(prev.At)
	if had && dt > 0 {
		t.addPhase(prev, dt)
	}
	switch {
	case !had || !samePass || restarted || s.Position == 0 || prev.Position == 0 || dt <= 0:
		// No interval of disk reading to measure yet.
		if !samePass || restarted || s.Position == 0 {
			t.rate = 0
		}
	default:
		inst := float64(s.Position-prev.Position) / dt.Seconds()
		if t.rate == 0 {
			t.rate = inst
		} else {
			t.rate = rateWeight*inst + (1-rateWeight)*t.rate
		}
	}
	return t
}

// addPhase counts d, the interval after sample p, in p's phase.
func (t *Throughput) addPhase(p ThroughputSample, d time.Duration) {
	if p.Position == 0 {
		t.k2pow += d
	} else {
		t.disk += d
	}
}

// Timing is what the detail view shows: the rate and ETA to the end of the
// pass (0 when unknown) and the phases of the last proof watched whole.
func (t Throughput) Timing() ProofTiming {
	pt := ProofTiming{LastK2Pow: t.lastK2Pow, LastDisk: t.lastDisk}
	if !t.hasLast || !t.last.Proving || t.rate <= 0 {
		return pt
	}
	pt.Rate = t.rate
	if s := t.last; s.PassBytes > s.Position {
		secs := float64(s.PassBytes-s.Position) / t.rate
		if secs < math.MaxInt64/float64(time.Second) {
			pt.ETA = time.Duration(secs * float64(time.Second)).Round(time.Second)
		}
	}
	return pt
}

// Phases is the time the proof in progress has spent in k2pow and reading the
// disk so far, and whether it was watched from its start.
func (t Throughput) Phases() (k2pow, disk time.Duration, whole bool) {
	return t.k2pow, t.disk, t.inProof && t.whole
}
