package model

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The deadline planner: when each proof of the coming cycle gap will finish
// if automatic proving starts them in its order, and which will miss the gap.
//
// A proof holds its service's slot (one of max_proving_per_disk on its disk,
// one of max_proving overall) from start to finish: first k2pow, then one
// read of the whole PoST data (num_units × labels_per_unit × 16 bytes).
//
// Remote k2pow (a service with --remote-k2pow): the post-service waits for
// the k2pow-service's answer before it reads, so the proof still holds its
// disk slot for k2pow plus reading; but it does no RandomX work of its own,
// so it does not count against max_proving, the cap for local RAM and CPU.
// The scheduler counts it the same way.
//
// The order is PlanRule. With one proof at a time per disk and one common
// deadline it fits the most proofs: the k proofs that fit on a disk are best
// its k shortest, and shortest first finishes each prefix soonest.

// PlanRule says in words which order automatic proving uses.
const PlanRule = "shortest proof first (k2pow + reading its data), across disks; ties by name"

// PlanSettings are the planner's defaults and limits.
type PlanSettings struct {
	// ReadBytesPerSec and K2Pow are assumed for an identity none of whose
	// proofs was measured yet ([plan] read_mib_s, [plan] k2pow).
	ReadBytesPerSec float64
	K2Pow           time.Duration
	Limits          Limits
}

// ProofMeasure is what an identity's last proof took (from the epoch
// ledger); a zero field is not known and the default is used.
type ProofMeasure struct {
	ReadBytesPerSec float64
	K2Pow           time.Duration
}

// PlannedProof is one identity's proof in the plan.
type PlannedProof struct {
	Name    string // the key file name (the row's label)
	Service string
	Disk    string
	// Start and Finish are zero for a proof that cannot be planned.
	Start, Finish time.Time
	K2Pow, Read   time.Duration // what is left of each phase when it starts
	Bytes         uint64
	Rate          float64 // read bytes per second assumed
	Remote        bool    // k2pow on a k2pow-service
	Running       bool    // already proving when the plan was made
	Fits          bool
	// Reason says why a proof misses the gap; empty when it fits.
	Reason string
}

// Plan is the proofs of one cycle gap in the order automatic proving starts
// them (those already proving first).
type Plan struct {
	GapStart, GapEnd time.Time
	// From is when proving starts in the plan: the gap's opening, or now
	// when the gap is already open.
	From         time.Time
	Proofs       []PlannedProof
	Fits, Misses int
}

// Summary is the header's word on the plan: "plan: all 37 fit", "plan: 3
// will miss"; empty when there is nothing to plan.
func (p *Plan) Summary() string {
	switch {
	case p == nil || len(p.Proofs) == 0:
		return ""
	case p.Misses == 0:
		return fmt.Sprintf("plan: all %d fit", p.Fits)
	}
	return fmt.Sprintf("plan: %d will miss", p.Misses)
}

// MakePlan plans the cycle gap of ci from the rows at now. Before the gap
// every row with a service is planned; inside it, only those still owing a
// proof (the node PROVING, or the service proving). measured is keyed by
// the identity's hex.
func MakePlan(rows []Row, ci CycleInfo, now time.Time, set PlanSettings, measured map[string]ProofMeasure) Plan {
	p := Plan{GapStart: ci.RoundEnd, GapEnd: ci.GapCloses, From: ci.RoundEnd}
	if !ci.Known || !now.Before(ci.GapCloses) {
		return p // no gap, or one already closed: nothing left to plan
	}
	if now.After(p.From) {
		p.From = now
	}
	inGap := !now.Before(ci.RoundEnd)
	for i := range rows {
		r := &rows[i]
		// Another host's services are its postdeck's to plan: their disks
		// are not this machine's.
		if r.Service == "" || r.Host != "" || (inGap && !owesProof(r)) {
			continue
		}
		var m ProofMeasure
		if len(measured) > 0 {
			m = measured[r.IDHex()]
		}
		p.Proofs = append(p.Proofs, planned(r, set, m, inGap))
	}
	orderProofs(p.Proofs)
	simulate(p.Proofs, p.From, set.Limits)
	why := newReasoner(&p, set.Limits)
	for i := range p.Proofs {
		pp := &p.Proofs[i]
		if pp.Reason == "" && !pp.Finish.After(p.GapEnd) {
			pp.Fits = true
			p.Fits++
			continue
		}
		if pp.Reason == "" {
			pp.Reason = why.miss(pp)
		}
		p.Misses++
	}
	return p
}

// owesProof: inside the gap, the identity's proof is still to come.
func owesProof(r *Row) bool {
	if r.ServiceState == ServiceProving {
		return true
	}
	return r.NodeState == NodeProving && r.ServiceState != ServiceDone
}

// planned is a row's proof with its phases' lengths; one proving inside
// the gap only with what is left of them. Before the gap a service proving
// now is at work on something else: its proof of this gap is still to come.
func planned(r *Row, set PlanSettings, m ProofMeasure, inGap bool) PlannedProof {
	pp := PlannedProof{Name: r.Label(), Service: r.Service, Disk: r.Disk, Remote: r.RemoteK2Pow,
		Running: inGap && r.ServiceState == ServiceProving, Bytes: r.SizeBytes, Rate: set.ReadBytesPerSec, K2Pow: set.K2Pow}
	if m.ReadBytesPerSec > 0 {
		pp.Rate = m.ReadBytesPerSec
	}
	if m.K2Pow > 0 {
		pp.K2Pow = m.K2Pow
	}
	switch {
	case r.SizeBytes == 0:
		pp.Reason = "its size is not known: postdata_metadata.json of " + r.Service + " could not be read"
		pp.Running = false
		return pp
	case pp.Rate <= 0:
		pp.Reason = "no read throughput to plan with: set [plan] read_mib_s"
		pp.Running = false
		return pp
	}
	left := 1.0
	if pg := r.Progress; pp.Running && pg != nil && pg.Phase == "disk" {
		pp.K2Pow = 0
		left = max(0, 1-pg.Percent/100)
	}
	pp.Read = time.Duration(math.Ceil(float64(r.SizeBytes) * left / pp.Rate * float64(time.Second)))
	return pp
}

// length is how long the proof holds its slot.
func (pp *PlannedProof) length() time.Duration { return pp.K2Pow + pp.Read }

// orderProofs sorts by PlanRule: proving ones first (they hold their slots
// already), then shortest first, then by name and service. It sorts indexes,
// not the (large) proofs.
func orderProofs(ps []PlannedProof) {
	idx := make([]int, len(ps))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := &ps[i], &ps[j]
		if a.Running != b.Running {
			if a.Running {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(a.length(), b.length()); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Service, b.Service)
	})
	sorted := make([]PlannedProof, len(ps))
	for k, i := range idx {
		sorted[k] = ps[i]
	}
	copy(ps, sorted)
}
