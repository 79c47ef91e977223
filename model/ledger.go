package model

import (
	"encoding/hex"
	"fmt"
	"time"
)

// EpochRecord is what the epoch ledger knows about one identity and one
// publish epoch e: the ATX it published in e, the rewards that ATX earned in
// e+1, and the steps on the way (PoET registration before the round, the PoST
// proof in e's cycle gap). Every step says whether it was observed: where
// postdeck was not running and the node kept nothing, the record says so and
// Why answers "not observed" instead of guessing.
type EpochRecord struct {
	Name  string // key file name, "" when unknown
	ID    []byte
	Epoch uint32 // publish epoch

	// ATX is the identity's ATX of this epoch, nil when none is known.
	// ATXListed says the node's history was read for this identity and
	// epoch, so a nil ATX is known to be missing.
	ATX       *ATX
	ATXListed bool

	Rewards EpochRewards
	// Eligibilities is what the node's eligibilities event promised for
	// epoch e+1: N eligibilities in Layers layers (one reward a layer);
	// Proposals the proposals it made in e+1.
	Eligibilities Eligibilities
	Proposals     Count

	Registration Step // PoET registration for the round ending in e
	PoetProof    Step // the PoET proof fetched (best_proof_selected or a PoST start)
	Proof        ProofStep

	Malicious bool
	// Open says epoch e has not ended: its ATX may still come.
	// RewardsOpen says epoch e+1 has not ended.
	Open, RewardsOpen bool
	// OutOfSync says postdeck saw the node out of sync in epoch e
	// (EpochOutOfSync) or e+1 (RewardsOutOfSync).
	EpochOutOfSync, RewardsOutOfSync bool
}

// EpochRewards are the rewards an ATX of epoch e earned in epoch e+1.
// Listed says the node's reward history covers that epoch.
type EpochRewards struct {
	Epoch  uint32
	Count  int
	Sum    uint64 // smidge
	Listed bool
}

// Eligibilities is a record's eligibilities, Known when the event was seen.
type Eligibilities struct {
	N, Layers int
	Known     bool
}

// Count is a number that was observed (Known) or not.
type Count struct {
	N     int
	Known bool
}

// Step is one step of the way to an ATX: Done when postdeck saw it happen
// (with At when it knows when), Watched when postdeck was running through
// the whole window the step falls in, so a step not Done is known missing.
type Step struct {
	Done    bool
	At      time.Time
	Watched bool
}

// ProofStep is the PoST proof of epoch e's cycle gap.
type ProofStep struct {
	Started, Completed time.Time // zero when not seen
	Failed             bool      // the last completion was a failure
	Late               bool      // completed after the end of epoch e
	K2Pow, Disk        time.Duration
	// Watched: postdeck ran from the gap's opening to the end of epoch e,
	// so a proof not completed by then is known to be late.
	Watched bool
}

// The why-lines: the first step that failed on the way to an ATX and its
// rewards. NotObserved is the answer when nothing is known.
const (
	WhyNotObserved     = "not observed"
	WhyNoRegistration  = "no PoET registration"
	WhyPoetNotFetched  = "PoET proof never fetched"
	WhyProofFailed     = "PoST proof failed"
	WhyProofLate       = "PoST proof too late"
	WhyATXNotPublished = "ATX not published"
	WhyNoEligibility   = "no eligibility that epoch"
	WhyOutOfSync       = "node out of sync"
)

// Why names the first step that failed for a record without an ATX or with
// fewer rewards than its eligibilities promised; "" when the ATX is there
// and the rewards match (or cannot be judged yet).
func Why(r EpochRecord) string {
	if r.ATX != nil {
		return whyRewards(r)
	}
	if r.Open && !r.Proof.Failed {
		return "" // the epoch is still running: the ATX may still come
	}
	return whyNoATX(r)
}

// whyNoATX walks the steps in order. A later step seen implies the earlier
// ones happened; an earlier step not seen is missing only if postdeck
// watched its window.
func whyNoATX(r EpochRecord) string {
	p := r.Proof
	started := !p.Started.IsZero()
	switch {
	case p.Failed:
		return WhyProofFailed
	case p.Late:
		return WhyProofLate
	case !p.Completed.IsZero():
		return whyAfterProof(r)
	case started && p.Watched:
		return WhyProofLate + ": not done by the end of epoch " + fmt.Sprint(r.Epoch)
	case started:
		return WhyNotObserved
	}
	reg, poet := r.Registration, r.PoetProof
	switch {
	case poet.Done && p.Watched:
		return WhyProofLate + ": it never started"
	case poet.Done:
		return WhyNotObserved
	case !reg.Done && reg.Watched:
		return WhyNoRegistration
	case reg.Done && poet.Watched:
		return WhyPoetNotFetched
	}
	return WhyNotObserved
}

// whyAfterProof: the proof was done in time, so the ATX step failed, if
// the node's history says the ATX is missing.
func whyAfterProof(r EpochRecord) string {
	switch {
	case !r.ATXListed:
		return WhyNotObserved
	case r.EpochOutOfSync:
		return WhyOutOfSync
	}
	return WhyATXNotPublished
}

// whyRewards compares the rewards of epoch e+1 with the layers the
// identity was eligible in (one reward and one proposal a layer), once that
// epoch is over and both are known.
func whyRewards(r EpochRecord) string {
	if r.RewardsOpen || !r.Rewards.Listed || !r.Eligibilities.Known {
		return ""
	}
	switch n, want := r.Rewards.Count, r.Eligibilities.Layers; {
	case want == 0 && n == 0:
		return WhyNoEligibility
	case n >= want:
		return ""
	case r.RewardsOutOfSync:
		return fmt.Sprintf("%s: %d of %d rewards", WhyOutOfSync, n, want)
	case r.Proposals.Known && r.Proposals.N < want:
		return fmt.Sprintf("%d of %d proposals published", r.Proposals.N, want)
	default:
		return fmt.Sprintf("%d of %d rewards", n, want)
	}
}

// HistoryRecord is one element of `postdeck history --json`, a contract for
// scripts: one per identity and publish epoch.
type HistoryRecord struct {
	Name         string         `json:"name"`
	ID           string         `json:"id"`
	PublishEpoch uint32         `json:"publish_epoch"`
	ATX          *HistoryATX    `json:"atx"`
	Rewards      HistoryRewards `json:"rewards"`
	Malicious    bool           `json:"malicious"`
	Why          string         `json:"why"`
}

// HistoryATX is a record's ATX in the JSON.
type HistoryATX struct {
	ID       string `json:"id"`
	Weight   uint64 `json:"weight"`
	NumUnits uint32 `json:"num_units"`
}

// HistoryRewards are the rewards of epoch e+1 in the JSON; Sum in smidge.
type HistoryRewards struct {
	Epoch uint32 `json:"epoch"`
	Count int    `json:"count"`
	Sum   uint64 `json:"sum"`
}

// History turns a record into its JSON shape, ids in lower-case hex.
func (r EpochRecord) History() HistoryRecord {
	h := HistoryRecord{
		Name:         r.Name,
		ID:           hex.EncodeToString(r.ID),
		PublishEpoch: r.Epoch,
		Rewards:      HistoryRewards{Epoch: r.Epoch + 1, Count: r.Rewards.Count, Sum: r.Rewards.Sum},
		Malicious:    r.Malicious,
		Why:          Why(r),
	}
	if r.ATX != nil {
		h.ATX = &HistoryATX{ID: hex.EncodeToString(r.ATX.ID), Weight: r.ATX.Weight, NumUnits: r.ATX.NumUnits}
	}
	return h
}
