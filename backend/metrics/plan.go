package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"postdeck/model"
)

// The deadline plan's series: one per planned proof (at most one per
// identity), labelled by name, service and disk, and by the node and host
// of the row that service is on.
var (
	planLabels = []string{"name", "service", "disk", "node", "host"}

	descPlanFits = prometheus.NewDesc("postdeck_plan_fits",
		"Proofs of the coming (or open) cycle gap that the plan finishes in time.", nil, nil)
	descPlanMisses = prometheus.NewDesc("postdeck_plan_misses",
		"Proofs of that gap the plan says will miss it.", nil, nil)
	descPlanGapStart = prometheus.NewDesc("postdeck_plan_gap_start_timestamp_seconds",
		"When the planned cycle gap opens (Unix time).", nil, nil)
	descPlanGapEnd = prometheus.NewDesc("postdeck_plan_gap_end_timestamp_seconds",
		"When the planned cycle gap closes (Unix time).", nil, nil)
	descProofFits = prometheus.NewDesc("postdeck_plan_proof_fits",
		"1 when the identity's proof is planned to finish before the gap closes.", planLabels, nil)
	descProofFinish = prometheus.NewDesc("postdeck_plan_proof_finish_timestamp_seconds",
		"When the identity's proof is planned to finish (Unix time); absent when it cannot be planned.", planLabels, nil)
	descProofSlack = prometheus.NewDesc("postdeck_plan_proof_slack_seconds",
		"The gap's close minus the planned finish: negative for a proof that will miss by that much.", planLabels, nil)
)

var planDescs = []*prometheus.Desc{descPlanFits, descPlanMisses, descPlanGapStart, descPlanGapEnd,
	descProofFits, descProofFinish, descProofSlack}

// planSeries sends the plan's series; nothing without a plan. A proof's
// node is its service's row's: model.PlannedProof names none, and service
// names are unique in a config. The plan is this machine's, so a row of
// this machine is preferred when a host's row has the same service.
func planSeries(gauge gaugeFunc, p *model.Plan, rows []model.Row) {
	if p == nil || p.GapEnd.IsZero() {
		return
	}
	gauge(descPlanFits, float64(p.Fits))
	gauge(descPlanMisses, float64(p.Misses))
	gauge(descPlanGapStart, float64(p.GapStart.Unix()))
	gauge(descPlanGapEnd, float64(p.GapEnd.Unix()))
	if len(p.Proofs) == 0 {
		return
	}
	nodeOf := make(map[string]nodeKey, len(p.Proofs))
	for i := range rows {
		r := &rows[i]
		if _, ok := nodeOf[r.Service]; r.Service != "" && (!ok || r.Host == "") {
			nodeOf[r.Service] = rowNode(r)
		}
	}
	seen := make(map[[5]string]bool, len(p.Proofs))
	for i := range p.Proofs {
		pp := &p.Proofs[i]
		n := nodeOf[pp.Service]
		l := [5]string{pp.Name, pp.Service, pp.Disk, n[0], n[1]}
		if seen[l] {
			continue // two that read the same would make the scrape fail
		}
		seen[l] = true
		gauge(descProofFits, b2f(pp.Fits), l[:]...)
		if !pp.Finish.IsZero() {
			gauge(descProofFinish, float64(pp.Finish.Unix()), l[:]...)
			gauge(descProofSlack, p.GapEnd.Sub(pp.Finish).Seconds(), l[:]...)
		}
	}
}
