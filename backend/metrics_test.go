package backend

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	prommodel "github.com/prometheus/common/model"

	"postdeck/backend/alerts"
	"postdeck/backend/config"
	"postdeck/backend/metrics"
	"postdeck/backend/testkit"
	"postdeck/model"
)

type fixedSource struct{ s model.Snapshot }

func (f fixedSource) Latest() (model.Snapshot, bool) { return f.s, true }

// scrape GETs /metrics from addr and parses it.
func scrape(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s\n%s", resp.Status, b)
	}
	p := expfmt.NewTextParser(prommodel.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// series lists a family's samples as `{l1="v1",…} value`, sorted.
func series(fams map[string]*dto.MetricFamily, name string) []string {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []string
	for _, m := range f.Metric {
		var ls []string
		for _, l := range m.Label {
			ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		v := 0.0
		switch {
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Counter != nil:
			v = m.Counter.GetValue()
		}
		out = append(out, fmt.Sprintf("{%s} %g", strings.Join(ls, ","), v))
	}
	sort.Strings(out)
	return out
}

func TestMetricsScrape(t *testing.T) {
	at := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	snap := model.Snapshot{
		At:   at,
		Node: model.NodeView{HasStatus: true, Synced: true, TopLayer: 123456, Peers: 42, HasPostStates: true},
		Cycle: model.CycleInfo{Known: true, InGap: true, RoundEnd: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC),
			GapCloses: time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC)},
		Rows: []model.Row{
			{Key: "a", Name: "post0.key", ID: []byte{0xde, 0xad, 0xbe, 0xef, 0x01}, Service: "data0",
				NodeState: model.NodeProving, ServiceState: model.ServiceProving,
				Progress: &model.Progress{Percent: 25},
				Timing:   model.ProofTiming{Rate: 1.5e9, LastK2Pow: 90 * time.Second, LastDisk: 30 * time.Minute}},
			{Key: "b", Name: "post1.key", ID: []byte{0x01, 0x02, 0x03, 0x04}, Service: "data1",
				NodeState: model.NodeProving, ServiceState: model.ServiceUnreachable,
				Health: []model.Health{model.HealthServiceDown, model.HealthDuplicate}},
			{Key: "c", Name: "post2.key", ID: []byte{0xaa}, NodeState: model.NodeIdle,
				Health: []model.Health{model.HealthNoService}},
		},
	}
	m := metrics.New(fixedSource{snap})
	polled := snap
	polled.Duration = 150 * time.Millisecond
	polled.Node.Errors = []model.SourceError{{Source: "node:post", Message: "down"}}
	polled.Rows = append([]model.Row(nil), snap.Rows...)
	polled.Rows[1].Errors = []model.SourceError{{Source: "operator", Message: "connection refused"}}
	m.Hook(&polled)
	m.Hook(&polled)
	a := alerts.New(config.AlertsConfig{Command: "true"}, "")
	a.Raise(testkit.AlertFor("proof-failed", "x"))
	m.WatchAlerts(a)

	addr, stop, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	fams := scrape(t, addr)

	check := func(name string, want ...string) {
		t.Helper()
		got := series(fams, name)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\n got  %s\n want %s", name, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
		}
	}
	// Labels come sorted by name.
	p0 := `host="",id="deadbeef",name="post0.key",node="",service="data0"`
	p1 := `host="",id="01020304",name="post1.key",node="",service="data1"`
	p2 := `host="",id="aa",name="post2.key",node="",service=""`
	check("postdeck_node_synced", `{host="",node=""} 1`)
	check("postdeck_node_top_layer", `{host="",node=""} 123456`)
	check("postdeck_node_peers", `{host="",node=""} 42`)
	check("postdeck_identity_up", "{"+p1+"} 0", "{"+p0+"} 1")
	check("postdeck_identity_progress_ratio", "{"+p0+"} 0.25")
	check("postdeck_identity_read_bytes_per_second", "{"+p0+"} 1.5e+09")
	check("postdeck_identity_last_proof_seconds", "{"+p0+"} 1890")
	check("postdeck_identity_health",
		`{flag="duplicate-identity",`+p1+"} 1", `{flag="no-service",`+p2+"} 1", `{flag="service-down-while-proving",`+p1+"} 1")
	check("postdeck_cycle_gap_open", "{} 1")
	check("postdeck_cycle_gap_closes_timestamp_seconds", fmt.Sprintf("{} %g", float64(time.Date(2026, 1, 5, 20, 0, 0, 0, time.UTC).Unix())))
	check("postdeck_poll_errors_total", `{host="",node="",source="node:post"} 2`, `{host="",node="",source="operator"} 2`)
	check("postdeck_alerts_total", `{result="dropped"} 0`, `{result="failed"} 0`, `{result="raised"} 1`, `{result="retried"} 0`, `{result="sent"} 0`)

	// One-hot states: exactly one 1 per identity, on the right state.
	for _, fam := range []string{"postdeck_identity_node_state", "postdeck_identity_service_state"} {
		ones := map[string]string{}
		for _, s := range series(fams, fam) {
			if strings.HasSuffix(s, "} 1") {
				name := s[strings.Index(s, `name="`)+6:]
				name = name[:strings.Index(name, `"`)]
				if prev, dup := ones[name]; dup {
					t.Errorf("%s: two states for %s: %s and %s", fam, name, prev, s)
				}
				ones[name] = s
			}
		}
		if len(ones) != 3 {
			t.Errorf("%s: %d identities with a state: %v", fam, len(ones), ones)
		}
	}
	if got := series(fams, "postdeck_identity_node_state"); len(got) != 15 || !contains(got, "{"+p1+`,state="PROVING"} 1`) {
		t.Errorf("node states %v", got)
	}
	if got := series(fams, "postdeck_identity_service_state"); !contains(got, "{"+p1+`,state="unreachable"} 1`) || !contains(got, "{"+p2+`,state="none"} 1`) {
		t.Errorf("service states %v", got)
	}
	h := fams["postdeck_poll_duration_seconds"]
	if h == nil || h.Metric[0].Histogram.GetSampleCount() != 2 || h.Metric[0].Histogram.GetSampleSum() != 0.3 {
		t.Errorf("poll duration %v", h)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// From the simulator through a real poller: metrics.Start hooks the per-cycle
// counters into it, and the scrape shows the polled identities.
func TestMetricsFromSimPoller(t *testing.T) {
	s := testkit.StartSim(t, 3)
	p, l := simPoller(t, s, 5*time.Second)
	s.SetNodeState(l.Services[0].NodeID, model.NodeProving)
	s.SetOperatorBody(l.Services[0].Name, `{"Proving":{"nonces":{"start":0,"end":128},"position":0}}`)

	m := metrics.New(p)
	p.AddHook(m.Hook)
	addr, stop, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for p.Stats().Cycles == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	fams := scrape(t, addr)
	if got := series(fams, "postdeck_identity_up"); len(got) != 3 {
		t.Errorf("up: %v", got)
	}
	if got := series(fams, "postdeck_node_synced"); len(got) != 1 {
		t.Errorf("synced: %v", got)
	}
	proving := 0
	for _, x := range series(fams, "postdeck_identity_node_state") {
		if strings.Contains(x, `state="PROVING"} 1`) {
			proving++
		}
	}
	if h := fams["postdeck_poll_duration_seconds"]; proving != 1 || h == nil || h.Metric[0].Histogram.GetSampleCount() == 0 {
		t.Errorf("proving %d, histogram %v", proving, h)
	}
}

func TestStartMetricsBadAddress(t *testing.T) {
	if _, err := metrics.Start("http://x:9", fixedSource{}); err == nil || !strings.Contains(err.Error(), "--metrics-listen") {
		t.Fatalf("err %v", err)
	}
	stop, err := metrics.Start("127.0.0.1:0", fixedSource{})
	if err != nil {
		t.Fatal(err)
	}
	stop()
	stop() // twice is fine
}
