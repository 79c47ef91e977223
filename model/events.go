package model

import "time"

// Event is one event from the node's AdminService.EventsStream, reduced to
// what the dashboard shows. Kind is the name of the oneof field set
// ("post_start", "post_complete", "atx_published", …).
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Failure bool      `json:"failure,omitempty"`
	Help    string    `json:"help,omitempty"`
	// Smesher is the identity the event is about; nil for node-wide events.
	Smesher []byte `json:"-"`
	// Detail is a short human summary of the event's fields.
	Detail string `json:"detail,omitempty"`
	// RoundEnd is the PoET round end an event carries (round_end of
	// waiting_for_poet_round_end and registered_in_poet); zero when none.
	RoundEnd time.Time `json:"round_end,omitzero"`
	// What the epoch ledger records, zero when the event has none of it:
	// Epoch is eligibilities' epoch and atx_published's target epoch;
	// Eligibilities the sum of eligibilities' per-layer counts; Layer a
	// proposal's layer; ATXID atx_published's id.
	Epoch         uint32 `json:"epoch,omitempty"`
	Eligibilities int    `json:"eligibilities,omitempty"`
	Layer         uint32 `json:"layer,omitempty"`
	ATXID         []byte `json:"-"`

	// EligibleLayers is how many layers the eligibilities event lists: the
	// identity earns one reward a layer, however many eligibilities that
	// layer holds, so it is the reward count to expect.
	EligibleLayers int `json:"eligible_layers,omitempty"`
}

// CycleInfo is the PoET cycle as postdeck computes it (and cross-checks it
// with the node): when the current round ends and the cycle gap, in which
// proofs are generated, opens and closes.
type CycleInfo struct {
	Known     bool
	RoundEnd  time.Time // end of the current PoET round = the cycle gap opens
	GapCloses time.Time // the cycle gap closes (the next round starts)
	InGap     bool      // now is inside the cycle gap
	// Source says where the times come from ("mainnet defaults", "config",
	// "node events"), and Mismatch what disagrees, if anything.
	Source   string
	Mismatch string
}

// ProofTiming is throughput and timing of a proving service, derived from
// successive /status positions.
type ProofTiming struct {
	Rate float64       // bytes read per second in the current pass; 0 when unknown
	ETA  time.Duration // to the end of the current pass; 0 when unknown
	// Last proof's phases, when one has been watched from start to end.
	LastK2Pow time.Duration
	LastDisk  time.Duration
}
