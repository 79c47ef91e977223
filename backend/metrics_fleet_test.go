package backend

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"postdeck/backend/metrics"
	"postdeck/model"
)

// fleetOfRows is a snapshot of nodes nodes holding rows identities in all,
// as MergeNodes makes it: every row with a service, a few proving, each
// with two epochs of records (one closed, one open), one in ten flagged.
// Names and services are unique across the fleet, so no row hides another.
func fleetOfRows(nodes, rows int) model.Snapshot {
	at := time.Date(2026, 12, 21, 6, 0, 0, 0, time.UTC)
	names := make([]string, nodes)
	parts := make([]model.Snapshot, nodes)
	for n := range nodes {
		if nodes > 1 {
			names[n] = fmt.Sprintf("node%02d", n+1)
		}
		parts[n] = model.Snapshot{At: at, Node: model.NodeView{Version: "v1.7.0", HasStatus: true, Synced: true,
			TopLayer: 354000, Peers: 30, HasPostStates: true}}
	}
	for i := range rows {
		r := model.Row{Key: fmt.Sprint(i), Name: fmt.Sprintf("post%04d.key", i), ID: []byte{byte(i >> 8), byte(i), 7, 7},
			Service: fmt.Sprintf("data%04d", i), Held: true, NodeState: model.NodeIdle, ServiceState: model.ServiceIdle,
			Epochs: []model.EpochRecord{
				{Epoch: 87, ATX: &model.ATX{Weight: 4096}, ATXListed: true, RewardsOpen: true,
					Rewards: model.EpochRewards{Epoch: 88, Count: 3, Sum: 7_500_000_000, Listed: true}},
				{Epoch: 88, Open: true, RewardsOpen: true},
			}}
		if i%4 == 0 {
			r.NodeState, r.ServiceState = model.NodeProving, model.ServiceProving
			r.Progress = &model.Progress{Percent: 40}
			r.Timing = model.ProofTiming{Rate: 2e8, LastK2Pow: time.Minute, LastDisk: time.Hour}
		}
		if i%10 == 0 {
			r.Health = []model.Health{model.HealthMalicious}
		}
		p := &parts[i%nodes]
		p.Rows = append(p.Rows, r)
	}
	return model.MergeNodes(names, parts)
}

// One scrape of 1000 identities, on one node and over ten: what
// Prometheus's every visit costs (the collector and the text encoding).
// The per-snapshot hook is measured with it.
func BenchmarkMetricsScrape(b *testing.B) {
	for _, nodes := range []int{1, 10} {
		snap := fleetOfRows(nodes, 1000)
		m := metrics.New(fixedSource{snap})
		h := m.Handler()
		req := httptest.NewRequest("GET", "/metrics", nil)
		b.Run(fmt.Sprintf("nodes=%d/scrape", nodes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("scrape: %d\n%s", w.Code, w.Body)
				}
			}
		})
		b.Run(fmt.Sprintf("nodes=%d/hook", nodes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m.Hook(&snap)
			}
		})
	}
}
