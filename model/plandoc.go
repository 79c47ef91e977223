package model

import "time"

// PlanDoc is `postdeck plan --json`, a contract for scripts (README): the
// gap, how many proofs fit and miss, and every proof in the order automatic
// proving starts them.
type PlanDoc struct {
	GapStart string         `json:"gap_start"`
	GapEnd   string         `json:"gap_end"`
	Fits     int            `json:"fits"`
	Misses   int            `json:"misses"`
	Proofs   []PlanProofDoc `json:"proofs"`
}

// PlanProofDoc is one proof: Start and Finish are null for a proof that
// cannot be planned (its size is not known); Reason is set for every proof
// that misses.
type PlanProofDoc struct {
	Name   string  `json:"name"`
	Disk   string  `json:"disk"`
	Start  *string `json:"start"`
	Finish *string `json:"finish"`
	Fits   bool    `json:"fits"`
	Reason string  `json:"reason"`
}

// Doc is the plan as its JSON document.
func (p *Plan) Doc() PlanDoc {
	d := PlanDoc{GapStart: rfc3339(p.GapStart), GapEnd: rfc3339(p.GapEnd), Fits: p.Fits, Misses: p.Misses,
		Proofs: make([]PlanProofDoc, 0, len(p.Proofs))}
	for _, pp := range p.Proofs {
		pd := PlanProofDoc{Name: pp.Name, Disk: pp.Disk, Fits: pp.Fits, Reason: pp.Reason}
		if !pp.Start.IsZero() {
			start, finish := rfc3339(pp.Start), rfc3339(pp.Finish)
			pd.Start, pd.Finish = &start, &finish
		}
		d.Proofs = append(d.Proofs, pd)
	}
	return d
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }
