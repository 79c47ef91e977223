package backend

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"postdeck/backend/metrics"
	"postdeck/model"
	"postdeck/sim"
)

// swapSource is the snapshot a test sets, as the poller publishes its
// latest.
type swapSource struct {
	mu   sync.Mutex
	snap model.Snapshot
	set  bool
}

func (s *swapSource) Latest() (model.Snapshot, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, s.set
}

func (s *swapSource) publish(m *metrics.Metrics, snap model.Snapshot) {
	m.Hook(&snap) // what the poller does with each cycle, before subscribers see it
	s.mu.Lock()
	s.snap, s.set = snap, true
	s.mu.Unlock()
}

// labelOf is a series' value of label name ("" when it has none).
func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// byNode lists a family's samples of one node as `{labels} value`, without
// the node label.
func byNode(fams map[string]*dto.MetricFamily, name, node string) []string {
	var out []string
	for _, s := range series(fams, name) {
		if strings.Contains(s, `node="`+node+`"`) {
			out = append(out, strings.Replace(strings.Replace(s, `,node="`+node+`"`, "", 1), `node="`+node+`",`, "", 1))
		}
	}
	return out
}

// Three simulated nodes polled by one real poller, the exporter served on
// 127.0.0.1 and scraped over HTTP: each node has its own series, a row
// reported through a [[host]] carries that host, a node that stops
// answering shows up 0 (and when it last answered), and a node taken out
// of the config leaves no series behind, its error counters included.
func TestMetricsOfAFleet(t *testing.T) {
	// node3 runs with node1's seed: its one identity is node1's first, so
	// both rows carry identity-on-two-nodes, told apart by node.
	a, b, c := startSimSeeded(t, 3, 1), startSimSeeded(t, 2, 2), startSimSeeded(t, 1, 1)
	la, lb, lc := a.Layout(), b.Layout(), c.Layout()
	b.SetNodeState(lb.Services[0].NodeID, model.NodeProving)
	c.SetFault(lc.Services[0].Name, sim.FaultDown) // node3 has an error counter to lose
	three := fleetPoller(t, 3*time.Second, la, lb, lc)

	src := &swapSource{}
	m := metrics.New(src)
	addr, stop, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	check := func(fams map[string]*dto.MetricFamily, name, node string, want ...string) {
		t.Helper()
		if got := byNode(fams, name, node); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s of %s:\n got  %s\n want %s", name, node, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
	}

	snap := three.PollOnce(context.Background())
	if len(snap.Nodes) != 3 || !snap.Nodes[2].Up() {
		t.Fatalf("nodes %+v", snap.Nodes)
	}
	// Remote hosts are not polled yet: node3's rows are tagged as the
	// merge of a [[host]]'s snapshot will tag them.
	for i := range snap.Rows {
		if snap.Rows[i].Node == "node3" {
			snap.Rows[i].Host = "rig2"
		}
	}
	src.publish(m, snap)
	fams := scrape(t, addr)
	for _, n := range []string{"node1", "node2", "node3"} {
		check(fams, "postdeck_node_up", n, `{host=""} 1`)
		check(fams, "postdeck_node_synced", n, `{host=""} 1`)
		if got := byNode(fams, "postdeck_node_top_layer", n); len(got) != 1 {
			t.Errorf("top layer of %s: %v", n, got)
		}
		if got := byNode(fams, "postdeck_node_last_answer_timestamp_seconds", n); len(got) != 1 {
			t.Errorf("last answer of %s: %v", n, got)
		}
	}
	check(fams, "postdeck_node_identities", "node2", `{host="",state="IDLE"} 1`, `{host="",state="PROVING"} 1`,
		`{host="",state="UNUSED"} 0`, `{host="",state="absent"} 0`, `{host="",state="unknown"} 0`)
	check(fams, "postdeck_identity_up", "node1",
		`{host="",id="`+model.ShortID(la.Services[0].NodeID, 8)+`",name="`+rowOf(t, snap, "node1-"+la.Services[0].Name).Name+`",service="node1-`+la.Services[0].Name+`"} 1`,
		`{host="",id="`+model.ShortID(la.Services[1].NodeID, 8)+`",name="`+rowOf(t, snap, "node1-"+la.Services[1].Name).Name+`",service="node1-`+la.Services[1].Name+`"} 1`,
		`{host="",id="`+model.ShortID(la.Services[2].NodeID, 8)+`",name="`+rowOf(t, snap, "node1-"+la.Services[2].Name).Name+`",service="node1-`+la.Services[2].Name+`"} 1`)
	r3 := rowOf(t, snap, "node3-"+lc.Services[0].Name)
	id3 := model.ShortID(r3.ID, 8)
	check(fams, "postdeck_identity_up", "node3", `{host="rig2",id="`+id3+`",name="`+r3.Name+`",service="node3-`+lc.Services[0].Name+`"} 0`)
	check(fams, "postdeck_poll_errors_total", "node3", `{host="rig2",source="operator"} 1`)
	for _, n := range []string{"node1", "node3"} {
		found := false
		for _, s := range byNode(fams, "postdeck_identity_health", n) {
			found = found || strings.Contains(s, `flag="`+string(model.HealthOnTwoNodes)+`"`) && strings.Contains(s, `id="`+id3+`"`)
		}
		if !found {
			t.Errorf("%s: no %s on the shared identity: %v", n, model.HealthOnTwoNodes, byNode(fams, "postdeck_identity_health", n))
		}
	}

	// node2 stops answering: its up is 0, what only an answer tells
	// (sync, layer, peers, version) is gone, when it last answered stays.
	if err := b.StopNode(); err != nil {
		t.Fatal(err)
	}
	snap = three.PollOnce(context.Background())
	src.publish(m, snap)
	fams = scrape(t, addr)
	check(fams, "postdeck_node_up", "node2", `{host=""} 0`)
	check(fams, "postdeck_node_up", "node1", `{host=""} 1`)
	for _, name := range []string{"postdeck_node_synced", "postdeck_node_top_layer", "postdeck_node_peers", "postdeck_node_info"} {
		check(fams, name, "node2")
	}
	if got := byNode(fams, "postdeck_node_last_answer_timestamp_seconds", "node2"); len(got) != 1 {
		t.Errorf("node2's last answer: %v", got)
	}
	if got := byNode(fams, "postdeck_poll_errors_total", "node2"); len(got) == 0 {
		t.Error("node2's failed listeners were not counted")
	}

	// node3 is taken out of the config: the next poller has two nodes.
	two := fleetPoller(t, 3*time.Second, la, lb)
	src.publish(m, two.PollOnce(context.Background()))
	fams = scrape(t, addr)
	for name, f := range fams {
		for _, x := range f.Metric {
			if labelOf(x, "node") == "node3" || labelOf(x, "host") == "rig2" {
				t.Errorf("%s: a series of the removed node3: %v", name, x.Label)
			}
		}
	}
	check(fams, "postdeck_node_up", "node1", `{host=""} 1`)
	check(fams, "postdeck_node_up", "node2", `{host=""} 0`)
}

// 10 nodes of 100 identities: each node-wide series is one per node, each
// per-identity series at most one per identity.
func TestMetricsCardinalityOfTenNodes(t *testing.T) {
	m := metrics.New(fixedSource{fleetOfRows(10, 1000)})
	addr, stop, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	fams := scrape(t, addr)
	for _, name := range []string{"postdeck_node_up", "postdeck_node_synced", "postdeck_node_top_layer", "postdeck_node_peers", "postdeck_node_info"} {
		if n := len(fams[name].GetMetric()); n != 10 {
			t.Errorf("%s: %d series for 10 nodes", name, n)
		}
	}
	if n := len(fams["postdeck_node_identities"].GetMetric()); n != 10*5 {
		t.Errorf("postdeck_node_identities: %d series for 10 nodes of 5 states", n)
	}
	for _, name := range []string{"postdeck_identity_up", "postdeck_identity_atx", "postdeck_identity_rewards_smidge"} {
		if n := len(fams[name].GetMetric()); n != 1000 {
			t.Errorf("%s: %d series for 1000 identities", name, n)
		}
	}
	perNode := map[string]int{}
	for _, x := range fams["postdeck_identity_up"].GetMetric() {
		perNode[labelOf(x, "node")]++
	}
	if len(perNode) != 10 || perNode["node01"] != 100 {
		t.Errorf("identities per node: %v", perNode)
	}
}

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
	all := make([]model.Part, len(parts))
	for i := range parts {
		all[i] = model.Part{Node: names[i], Snap: parts[i]}
	}
	return model.MergeNodes(all)
}

// fullFleet is fullSnapshot on two nodes, node2's rows reported through the
// host rig2, each node with a version and a last answer.
func fullFleet() model.Snapshot {
	one := fullSnapshot()
	one.Node.Version = "v1.7.0"
	snap := model.MergeNodes([]model.Part{{Node: "node1", Snap: one}, {Host: "rig2", Node: "node2", Snap: fullSnapshot()}})
	snap.Cycle, snap.Plan = one.Cycle, one.Plan
	for i := range snap.Nodes {
		snap.Nodes[i].LastAnswer = one.At
	}
	return snap
}

// The plan names no node: each proof's comes from its service's row.
func TestMetricsPlanProofsCarryTheirNode(t *testing.T) {
	fams := scrapeOf(t, fullFleet())
	if got := series(fams, "postdeck_plan_proof_fits"); strings.Join(got, " ") !=
		`{disk="disk1",host="",name="post01.key",node="node1",service="data01"} 1 {disk="disk1",host="",name="post02.key",node="node1",service="data02"} 0` {
		t.Errorf("plan proofs: %v", got)
	}
	if got := byNode(fams, "postdeck_fleet_rewards_smidge", "node2"); strings.Join(got, " ") != `{epoch="88",host="rig2"} 7.5e+09 {epoch="89",host="rig2"} 0` {
		t.Errorf("node2's rewards per epoch: %v", got)
	}
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
