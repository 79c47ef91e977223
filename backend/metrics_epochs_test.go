package backend

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"postdeck/backend/alerts"
	"postdeck/backend/config"
	"postdeck/backend/metrics"
	"postdeck/model"
)

// fullSnapshot has every field the metrics read set: node, cycle, rows
// proving and with health flags, the ledger's records of epochs 87 and 88
// (88 open), and a plan with a proof that fits and one that misses.
func fullSnapshot() model.Snapshot {
	gap := time.Date(2026, 12, 21, 8, 0, 0, 0, time.UTC)
	closed := func(atx *model.ATX, count int, sum uint64) model.EpochRecord {
		return model.EpochRecord{Epoch: 87, ATX: atx, ATXListed: true, RewardsOpen: true,
			Rewards: model.EpochRewards{Epoch: 88, Count: count, Sum: sum, Listed: true}}
	}
	open := model.EpochRecord{Epoch: 88, Open: true, RewardsOpen: true}
	return model.Snapshot{
		At:    gap.Add(-2 * time.Hour),
		Node:  model.NodeView{HasStatus: true, Synced: true, TopLayer: 354000, Peers: 30, HasPostStates: true},
		Cycle: model.CycleInfo{Known: true, RoundEnd: gap, GapCloses: gap.Add(12 * time.Hour)},
		Rows: []model.Row{
			{Key: "a", Name: "post01.key", ID: []byte{0xaa, 0x01}, Service: "data01", NodeState: model.NodeProving,
				ServiceState: model.ServiceProving, Progress: &model.Progress{Percent: 50},
				Timing: model.ProofTiming{Rate: 2e8, LastK2Pow: time.Minute, LastDisk: time.Hour},
				Epochs: []model.EpochRecord{closed(&model.ATX{Weight: 4096}, 3, 7_500_000_000), open}},
			{Key: "b", Name: "post02.key", ID: []byte{0xbb, 0x02}, Service: "data02", NodeState: model.NodeIdle,
				ServiceState: model.ServiceUnreachable, Health: []model.Health{model.HealthMalicious},
				Epochs: []model.EpochRecord{closed(nil, 0, 0), open}},
		},
		Plan: &model.Plan{GapStart: gap, GapEnd: gap.Add(12 * time.Hour), Fits: 1, Misses: 1, Proofs: []model.PlannedProof{
			{Name: "post01.key", Service: "data01", Disk: "disk1", Start: gap, Finish: gap.Add(11 * time.Hour), Fits: true},
			{Name: "post02.key", Service: "data02", Disk: "disk1", Start: gap.Add(11 * time.Hour), Finish: gap.Add(14 * time.Hour),
				Reason: "disk disk1: 2 proofs, 14h of work in a 12h gap"},
		}},
	}
}

// scrapeFull serves metrics fed fullSnapshot, the alerter's and the
// ledger's counters, after a poll cycle, and scrapes them once.
func scrapeFull(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	return scrapeOf(t, fullSnapshot())
}

// scrapeOf is scrapeFull of another snapshot.
func scrapeOf(t *testing.T, snap model.Snapshot) map[string]*dto.MetricFamily {
	t.Helper()
	m := metrics.New(fixedSource{snap})
	polled := snap
	polled.Duration = 100 * time.Millisecond
	polled.Node.Errors = []model.SourceError{{Source: "node:public", Message: "down"}}
	if len(polled.Nodes) > 0 {
		polled.Nodes = append([]model.NodeStatus(nil), polled.Nodes...)
		polled.Nodes[0].View.Errors = polled.Node.Errors
	}
	m.Hook(&polled)
	m.WatchAlerts(alerts.New(config.AlertsConfig{Command: "true"}, ""))
	m.WatchLedger(func() metrics.LedgerStatus {
		return metrics.LedgerStatus{Open: true, Queued: 2, Dropped: 5, BackfillDone: 1, BackfillTotal: 2}
	})
	addr, stop, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return scrape(t, addr)
}

// What an operator's Prometheus sees of the ledger and the plan: per
// identity the last complete epoch's ATX and rewards (no epoch label), per
// epoch the fleet's totals, the plan's fit and each proof's slack, and the
// ledger's backfill and dropped writes.
func TestMetricsLedgerAndPlan(t *testing.T) {
	fams := scrapeFull(t)
	check := func(name string, want ...string) {
		t.Helper()
		if got := series(fams, name); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got  %s\n want %s", name, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
	}
	p1 := `host="",id="aa01",name="post01.key",node="",service="data01"`
	p2 := `host="",id="bb02",name="post02.key",node="",service="data02"`
	check("postdeck_atx_publish_epoch", "{} 87")
	check("postdeck_rewards_epoch", "{} 88")
	check("postdeck_identity_atx", "{"+p1+"} 1", "{"+p2+"} 0")
	check("postdeck_identity_atx_weight", "{"+p1+"} 4096")
	check("postdeck_identity_rewards", "{"+p1+"} 3", "{"+p2+"} 0")
	check("postdeck_identity_rewards_smidge", "{"+p1+"} 7.5e+09", "{"+p2+"} 0")
	check("postdeck_fleet_atx", `{atx="missing",epoch="87",host="",node=""} 1`, `{atx="missing",epoch="88",host="",node=""} 0`,
		`{atx="published",epoch="87",host="",node=""} 1`, `{atx="published",epoch="88",host="",node=""} 0`, `{atx="unknown",epoch="87",host="",node=""} 0`, `{atx="unknown",epoch="88",host="",node=""} 2`)
	check("postdeck_fleet_rewards_smidge", `{epoch="88",host="",node=""} 7.5e+09`, `{epoch="89",host="",node=""} 0`)
	check("postdeck_plan_fits", "{} 1")
	check("postdeck_plan_misses", "{} 1")
	check("postdeck_plan_proof_fits", `{disk="disk1",host="",name="post01.key",node="",service="data01"} 1`, `{disk="disk1",host="",name="post02.key",node="",service="data02"} 0`)
	check("postdeck_plan_proof_slack_seconds", `{disk="disk1",host="",name="post01.key",node="",service="data01"} 3600`, `{disk="disk1",host="",name="post02.key",node="",service="data02"} -7200`)
	check("postdeck_ledger_dropped_writes_total", "{} 5")
	check("postdeck_ledger_backfill_done", "{} 1")
	check("postdeck_ledger_backfill_total", "{} 2")
	check("postdeck_identity_health", `{flag="malicious",`+p2+"} 1")
}

// Every metric the shipped Grafana dashboard queries is one postdeck
// exports, and so is every label it selects, groups or joins by: the
// dashboard is read as Grafana would import it, and each query's names are
// looked up in a real scrape of a fleet. Every selector filters by the
// host and node variables, so that each panel follows them: node where
// the series has one; host everywhere, which on postdeck's own series
// (cycle, plan, ledger, polls, alerts: no node) is not postdeck's label
// but the one a Prometheus scraping many machines gives each (README).
func TestGrafanaDashboardQueriesExportedMetrics(t *testing.T) {
	b, err := os.ReadFile("../docs/grafana-postdeck.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int `json:"schemaVersion"`
		Inputs        []struct {
			Name string `json:"name"`
		} `json:"__inputs"`
		Templating struct {
			List []struct {
				Name     string `json:"name"`
				Type     string `json:"type"`
				AllValue string `json:"allValue"`
				Query    struct {
					Query string `json:"query"`
				} `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("docs/grafana-postdeck.json: %v", err)
	}
	if dash.SchemaVersion < 36 || len(dash.Inputs) != 1 || dash.Inputs[0].Name != "DS_PROMETHEUS" {
		t.Errorf("schema %d, inputs %+v: want a Grafana 10 dashboard asking for its Prometheus", dash.SchemaVersion, dash.Inputs)
	}
	// The label names of each exported series, from a scrape of two nodes,
	// the second's rows through a host.
	labels := map[string]map[string]bool{}
	for name, f := range scrapeOf(t, fullFleet()) {
		ls := map[string]bool{}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				ls[l.GetName()] = true
			}
		}
		labels[name] = ls
		if ls["node"] && !ls["host"] {
			t.Errorf("%s has a node label and no host", name)
		}
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				labels[name+s] = ls
			}
			labels[name+"_bucket"] = map[string]bool{"le": true}
			for l := range ls {
				labels[name+"_bucket"][l] = true
			}
		}
	}
	var (
		selector = regexp.MustCompile(`\b(postdeck_[a-z0-9_]+)(\{[^}]*\})?`)
		matcher  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
		grouping = regexp.MustCompile(`\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	)
	// checkQuery reports what in one query postdeck does not export;
	// filtered asks for the variables' filters on every selector.
	checkQuery := func(where, q string, filtered bool) int {
		sels := selector.FindAllStringSubmatch(q, -1)
		if len(sels) == 0 {
			t.Errorf("%s: query %q uses no postdeck metric", where, q)
		}
		for _, sel := range sels {
			name, ls := sel[1], labels[sel[1]]
			if ls == nil {
				t.Errorf("%s: query %q uses %s, which postdeck does not export", where, q, name)
				continue
			}
			got := map[string]string{}
			for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
				got[m[1]] = m[2] + m[3]
				if !ls[m[1]] && (m[1] != "host" || ls["node"]) {
					t.Errorf("%s: query %q selects %s by %s, a label postdeck does not export on it", where, q, name, m[1])
				}
			}
			if !filtered {
				continue
			}
			if got["host"] != `=~$host` {
				t.Errorf("%s: query %q: %s is not filtered by host=~\"$host\"", where, q, name)
			}
			if ls["node"] && got["node"] != `=~$node` {
				t.Errorf("%s: query %q: %s is not filtered by node=~\"$node\"", where, q, name)
			}
		}
		for _, g := range grouping.FindAllStringSubmatch(q, -1) {
			for _, l := range strings.Split(g[2], ",") {
				l = strings.TrimSpace(l)
				if l == "" {
					continue
				}
				found := false
				for _, sel := range sels {
					found = found || labels[sel[1]][l]
				}
				if !found {
					t.Errorf("%s: query %q: %s (%s) is a label none of its metrics has", where, q, g[1], l)
				}
			}
		}
		return len(sels)
	}
	vars := map[string]bool{}
	valuesOf := regexp.MustCompile(`^label_values\((.+), *([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		m := valuesOf.FindStringSubmatch(v.Query.Query)
		if v.Type != "query" || m == nil || v.AllValue != ".*" {
			t.Errorf("variable %s: %s %q, all %q: want label_values(…) whose All matches a series without the label", v.Name, v.Type, v.Query.Query, v.AllValue)
			continue
		}
		checkQuery("variable "+v.Name, m[1], false)
		if n := selector.FindStringSubmatch(m[1]); n != nil && !labels[n[1]][m[2]] {
			t.Errorf("variable %s lists the values of %s, a label %s does not have", v.Name, m[2], n[1])
		}
	}
	if !vars["node"] || !vars["host"] {
		t.Errorf("variables %v: want node and host", vars)
	}
	queries := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queries++
			checkQuery(fmt.Sprintf("panel %q", p.Title), tg.Expr, true)
		}
	}
	if queries < 30 {
		t.Errorf("%d queries: the dashboard lost its panels", queries)
	}
}

// 1000 identities with 50 epochs of records each: every per-identity series
// is one per identity, none carries an epoch label, and the fleet's
// per-epoch series are a few per epoch.
func TestMetricsCardinalityAt1000Identities(t *testing.T) {
	snap := model.Snapshot{At: time.Date(2026, 12, 21, 6, 0, 0, 0, time.UTC)}
	for i := range 1000 {
		r := model.Row{Key: fmt.Sprint(i), Name: fmt.Sprintf("post%04d.key", i), ID: []byte{byte(i >> 8), byte(i), 7, 7}, Service: fmt.Sprintf("data%04d", i)}
		for e := uint32(39); e < 89; e++ {
			r.Epochs = append(r.Epochs, model.EpochRecord{Epoch: e, ATX: &model.ATX{Weight: 10}, ATXListed: true, Open: e == 88,
				RewardsOpen: e >= 87, Rewards: model.EpochRewards{Epoch: e + 1, Count: 2, Sum: 100, Listed: true}})
		}
		snap.Rows = append(snap.Rows, r)
	}
	m := metrics.New(fixedSource{snap})
	addr, stop, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	for name, f := range scrape(t, addr) {
		perIdentity, byEpoch := false, false
		for _, l := range f.Metric[0].Label {
			perIdentity = perIdentity || l.GetName() == "id"
			byEpoch = byEpoch || l.GetName() == "epoch"
		}
		switch {
		case perIdentity && byEpoch:
			t.Errorf("%s: an epoch label on a per-identity series", name)
		case byEpoch && len(f.Metric) > 3*50:
			t.Errorf("%s: %d series for 50 epochs", name, len(f.Metric))
		case perIdentity && !strings.Contains(name, "_state") && len(f.Metric) > 1000:
			t.Errorf("%s: %d series for 1000 identities", name, len(f.Metric))
		}
	}
}
