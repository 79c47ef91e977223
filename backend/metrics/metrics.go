package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"postdeck/backend/alerts"
	"postdeck/backend/config"
	"postdeck/model"
)

// SnapshotSource is what the metrics read: the newest published snapshot.
// *Poller is one.
type SnapshotSource interface {
	Latest() (model.Snapshot, bool)
}

// hookAdder is a source that can also show postdeck each snapshot as it is
// made (the poller): then poll durations and errors are counted per cycle.
type hookAdder interface {
	AddHook(func(*model.Snapshot))
}

// Metrics serves Prometheus metrics about the identities, the node and
// postdeck itself. Identity and node metrics are read from the latest
// snapshot at scrape time (a scrape never polls); poll durations and errors
// are counted by Hook on every cycle.
type Metrics struct {
	src      SnapshotSource
	reg      *prometheus.Registry
	pollDur  prometheus.Histogram
	pollErrs *prometheus.CounterVec

	mu      sync.Mutex
	alerter *alerts.Alerter
	ledger  func() LedgerStatus
}

// Start serves /metrics on addr, reading src's latest snapshot; when
// src is the poller, the per-cycle counters are hooked into it, which must
// happen before the poller runs. stop closes the listener.
func Start(addr string, src interface{ Latest() (model.Snapshot, bool) }) (stop func(), err error) {
	m := New(src)
	if h, ok := src.(hookAdder); ok {
		h.AddHook(m.Hook)
	}
	_, stop, err = m.Serve(addr)
	return stop, err
}

// New builds the registry: the snapshot collector, poll duration and
// error counters, and the Go and process collectors.
func New(src SnapshotSource) *Metrics {
	m := &Metrics{
		src: src,
		reg: prometheus.NewRegistry(),
		pollDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "postdeck_poll_duration_seconds",
			Help:    "How long one poll cycle (node, key folder and every post-service) took.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12), // 10 ms … 20 s
		}),
		pollErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "postdeck_poll_errors_total",
			Help: "Sources that failed, counted once per poll cycle each (node:<listener>, keys, operator, metadata).",
		}, []string{"source"}),
	}
	m.reg.MustRegister(m.pollDur, m.pollErrs, (*snapshotCollector)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// WatchAlerts adds the alerter's counters to the metrics.
func (m *Metrics) WatchAlerts(a *alerts.Alerter) {
	m.mu.Lock()
	m.alerter = a
	m.mu.Unlock()
}

// Hook counts one cycle's duration and failed sources; a poller hook.
func (m *Metrics) Hook(s *model.Snapshot) {
	m.pollDur.Observe(s.Duration.Seconds())
	for _, e := range s.Node.Errors {
		m.pollErrs.WithLabelValues(e.Source).Inc()
	}
	if s.KeysErr != "" {
		m.pollErrs.WithLabelValues("keys").Inc()
	}
	for i := range s.Rows {
		for _, e := range s.Rows[i].Errors {
			if e.Source == "operator" || e.Source == "metadata" {
				m.pollErrs.WithLabelValues(e.Source).Inc()
			}
		}
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Serve listens on addr and serves /metrics; it returns the address bound
// (addr with port 0 gets a free port) and stop, which closes the server.
func (m *Metrics) Serve(addr string) (bound string, stop func(), err error) {
	if msg := config.AddrProblem(addr); msg != "" {
		return "", nil, fmt.Errorf("--metrics-listen %q: %s", addr, msg)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-listen %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintln(w, "postdeck: metrics are at /metrics")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener failed after starting: nothing left to serve
		}
	}()
	var once sync.Once
	return ln.Addr().String(), func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
			<-done
		})
	}, nil
}

// snapshotCollector reads the latest snapshot at scrape time.
type snapshotCollector Metrics

var (
	idLabels = []string{"name", "id", "service"}

	descNodeState = prometheus.NewDesc("postdeck_identity_node_state",
		"One-hot: 1 for the state the node reports for the identity (unknown, absent, UNUSED, IDLE, PROVING), 0 for the others.",
		append(idLabels, "state"), nil)
	descServiceState = prometheus.NewDesc("postdeck_identity_service_state",
		"One-hot: 1 for the post-service's state (none, idle, proving, done, unreachable, unknown, stopped), 0 for the others.",
		append(idLabels, "state"), nil)
	descUp = prometheus.NewDesc("postdeck_identity_up",
		"1 when the identity's post-service answers its operator API; rows with a service only.", idLabels, nil)
	descProgress = prometheus.NewDesc("postdeck_identity_progress_ratio",
		"Position in the current proving pass, 0 to 1; while proving only.", idLabels, nil)
	descRate = prometheus.NewDesc("postdeck_identity_read_bytes_per_second",
		"PoST data read per second in the current pass; while proving and known.", idLabels, nil)
	descLastProof = prometheus.NewDesc("postdeck_identity_last_proof_seconds",
		"How long the last watched proof took (k2pow + disk read).", idLabels, nil)
	descHealth = prometheus.NewDesc("postdeck_identity_health",
		"1 for each health flag the identity carries (service-down-while-proving, duplicate-identity, …).",
		append(idLabels, "flag"), nil)
	descSynced = prometheus.NewDesc("postdeck_node_synced", "1 when the node is synced; present while it answers.", nil, nil)
	descTop    = prometheus.NewDesc("postdeck_node_top_layer", "The node's top layer.", nil, nil)
	descPeers  = prometheus.NewDesc("postdeck_node_peers", "The node's connected peers.", nil, nil)
	descNodeUp = prometheus.NewDesc("postdeck_node_up",
		"1 when the node's public listener answered the last poll.", nil, nil)
	descSnapTime = prometheus.NewDesc("postdeck_snapshot_timestamp_seconds",
		"When the latest snapshot was taken (Unix time).", nil, nil)
	descInGap = prometheus.NewDesc("postdeck_cycle_gap_open",
		"1 while the PoET cycle gap is open (proofs are due).", nil, nil)
	descRoundEnd = prometheus.NewDesc("postdeck_cycle_round_end_timestamp_seconds",
		"When the current or next PoET round ends and the cycle gap opens (Unix time).", nil, nil)
	descGapCloses = prometheus.NewDesc("postdeck_cycle_gap_closes_timestamp_seconds",
		"When that cycle gap closes (Unix time).", nil, nil)
	descAlerts = prometheus.NewDesc("postdeck_alerts_total",
		"Alerts by outcome: raised (past the debounce), sent, retried, failed (after every retry), dropped (queue full).",
		[]string{"result"}, nil)
)

var allDescs = []*prometheus.Desc{descNodeState, descServiceState, descUp, descProgress, descRate, descLastProof,
	descHealth, descSynced, descTop, descPeers, descNodeUp, descSnapTime, descInGap, descRoundEnd, descGapCloses, descAlerts}

var (
	nodeStates    = []model.NodeState{model.NodeUnknown, model.NodeAbsent, model.NodeUnused, model.NodeIdle, model.NodeProving}
	serviceStates = []model.ServiceState{model.ServiceNone, model.ServiceIdle, model.ServiceProving, model.ServiceDone,
		model.ServiceUnreachable, model.ServiceUnknown, model.ServiceStopped}
)

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, ds := range [][]*prometheus.Desc{allDescs, epochDescs, planDescs, ledgerDescs} {
		for _, d := range ds {
			ch <- d
		}
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	a, ledger := c.alerter, c.ledger
	c.mu.Unlock()
	if ledger != nil {
		ledgerSeries(ch, ledger())
	}
	if a != nil {
		st := a.Stats()
		for _, r := range []struct {
			name string
			v    int64
		}{{"raised", st.Raised}, {"sent", st.Sent}, {"retried", st.Retried}, {"failed", st.Failed}, {"dropped", st.Dropped}} {
			ch <- prometheus.MustNewConstMetric(descAlerts, prometheus.CounterValue, float64(r.v), r.name)
		}
	}
	s, ok := c.src.Latest()
	if !ok {
		return
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descSnapTime, float64(s.At.UnixNano())/1e9)
	gauge(descNodeUp, b2f(s.Node.HasStatus))
	if s.Node.HasStatus {
		gauge(descSynced, b2f(s.Node.Synced))
		gauge(descTop, float64(s.Node.TopLayer))
		gauge(descPeers, float64(s.Node.Peers))
	}
	if cy := s.Cycle; cy.Known {
		gauge(descInGap, b2f(cy.InGap))
		gauge(descRoundEnd, float64(cy.RoundEnd.Unix()))
		gauge(descGapCloses, float64(cy.GapCloses.Unix()))
	}
	planSeries(gauge, s.Plan)
	cur, hasEpochs := currentEpoch(s.Rows)
	if hasEpochs {
		fleetEpochs(gauge, s.Rows, cur)
	}
	seen := map[[3]string]bool{}
	for i := range s.Rows {
		r := &s.Rows[i]
		id := model.ShortID(r.ID, 8)
		l := [3]string{r.Label(), id, r.Service}
		if seen[l] {
			continue // two rows that read the same would make the scrape fail
		}
		seen[l] = true
		for _, st := range nodeStates {
			gauge(descNodeState, b2f(r.NodeState == st), l[0], l[1], l[2], st.String())
		}
		for _, st := range serviceStates {
			gauge(descServiceState, b2f(r.ServiceState == st), l[0], l[1], l[2], st.String())
		}
		if r.Service != "" {
			gauge(descUp, b2f(answers(r.ServiceState)), l[0], l[1], l[2])
		}
		if r.Progress != nil {
			gauge(descProgress, r.Progress.Percent/100, l[0], l[1], l[2])
		}
		if r.Timing.Rate > 0 {
			gauge(descRate, r.Timing.Rate, l[0], l[1], l[2])
		}
		if d := r.Timing.LastK2Pow + r.Timing.LastDisk; d > 0 {
			gauge(descLastProof, d.Seconds(), l[0], l[1], l[2])
		}
		if hasEpochs {
			identityEpoch(gauge, r, cur, l)
		}
		flags := map[model.Health]bool{}
		for _, h := range r.Health {
			if !flags[h] {
				flags[h] = true
				gauge(descHealth, 1, l[0], l[1], l[2], strings.TrimSpace(string(h)))
			}
		}
	}
}

// answers reports whether a post-service in state st answered its operator API.
func answers(st model.ServiceState) bool {
	switch st {
	case model.ServiceIdle, model.ServiceProving, model.ServiceDone, model.ServiceUnknown:
		return true
	}
	return false
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
