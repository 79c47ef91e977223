package metrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
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
	// errNodes are the nodes pollErrs has series of (Hook removes those
	// of a node that left).
	errNodes map[nodeKey]bool
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
			Help: "Sources that failed, counted once per poll cycle each (node:<listener>, keys, operator, metadata), by node.",
		}, []string{"source", "node", "host"}),
		errNodes: map[nodeKey]bool{},
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

// Hook counts one cycle's duration and failed sources, each under its
// node; a poller hook. The counters of a node the snapshot no longer has
// (taken out of the config) are removed, so no series outlives its node.
func (m *Metrics) Hook(s *model.Snapshot) {
	m.pollDur.Observe(s.Duration.Seconds())
	nodes := nodesOf(s)
	present := make(map[nodeKey]bool, len(nodes))
	count := func(source string, k nodeKey) {
		m.pollErrs.WithLabelValues(source, k[0], k[1]).Inc()
		m.errNodes[k] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range nodes {
		n := &nodes[i]
		k := statusNode(n)
		present[k] = true
		for _, e := range n.View.Errors {
			count(e.Source, k)
		}
		if n.KeysErr != "" {
			count("keys", k)
		}
	}
	var last nodeKey
	for i := range s.Rows {
		r := &s.Rows[i]
		k := rowNode(r)
		if i == 0 || k != last { // rows come grouped by node
			last, present[k] = k, true
		}
		for _, e := range r.Errors {
			if e.Source == "operator" || e.Source == "metadata" {
				count(e.Source, k)
			}
		}
	}
	for k := range m.errNodes {
		if !present[k] {
			m.pollErrs.DeletePartialMatch(prometheus.Labels{"node": k[0], "host": k[1]})
			delete(m.errNodes, k)
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

// Every per-identity and per-node series carries node (the [[node]]'s
// name) and host (the [[host]] whose postdeck serve reported it). Both are
// "" for what this machine's only node holds, and Prometheus stores an
// empty label as no label: a single node's series read as they always did,
// and a Prometheus that scrapes many machines can give each its host as a
// target label (with the default honor_labels an empty label is simply
// replaced; a set one would be kept as exported_host).
var (
	idLabels   = []string{"name", "id", "service", "node", "host"}
	nodeLabels = []string{"node", "host"}

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
	descSynced = prometheus.NewDesc("postdeck_node_synced", "1 when the node is synced; present while it answers.", nodeLabels, nil)
	descTop    = prometheus.NewDesc("postdeck_node_top_layer", "The node's top layer; present while it answers.", nodeLabels, nil)
	descPeers  = prometheus.NewDesc("postdeck_node_peers", "The node's connected peers; present while it answers.", nodeLabels, nil)
	descNodeUp = prometheus.NewDesc("postdeck_node_up",
		"1 when the node's public listener answered the last poll, 0 when it did not: every configured node has one.", nodeLabels, nil)
	descNodeInfo = prometheus.NewDesc("postdeck_node_info",
		"1, labelled with the version the node reports; present while it answers.", append(nodeLabels, "version"), nil)
	descNodeLastAnswer = prometheus.NewDesc("postdeck_node_last_answer_timestamp_seconds",
		"When the node last answered a poll on any listener (Unix time); absent until it has since postdeck started.", nodeLabels, nil)
	descNodeIdentities = prometheus.NewDesc("postdeck_node_identities",
		"The node's identities (the table's rows) by the state the node reports for them; every state of every node, 0 included.",
		append(nodeLabels, "state"), nil)
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
	descHealth, descSynced, descTop, descPeers, descNodeUp, descNodeInfo, descNodeLastAnswer, descNodeIdentities,
	descSnapTime, descInGap, descRoundEnd, descGapCloses, descAlerts}

var (
	nodeStates    = [...]model.NodeState{model.NodeUnknown, model.NodeAbsent, model.NodeUnused, model.NodeIdle, model.NodeProving}
	serviceStates = []model.ServiceState{model.ServiceNone, model.ServiceIdle, model.ServiceProving, model.ServiceDone,
		model.ServiceUnreachable, model.ServiceUnknown, model.ServiceStopped}
)

// nodeKey is a node's label values: node, host.
type nodeKey [2]string

// rowNode is the node a row belongs to.
func rowNode(r *model.Row) nodeKey { return nodeKey{r.Node, r.Host} }

// statusNode is a node of Snapshot.Nodes: this machine's (host "") or a
// [[host]]'s.
func statusNode(n *model.NodeStatus) nodeKey { return nodeKey{n.Name, n.Host} }

// nodesOf is the snapshot's nodes; one made without Join has only Node.
func nodesOf(s *model.Snapshot) []model.NodeStatus {
	if len(s.Nodes) > 0 {
		return s.Nodes
	}
	return []model.NodeStatus{{View: s.Node, KeysErr: s.KeysErr}}
}

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
	if cy := s.Cycle; cy.Known {
		gauge(descInGap, b2f(cy.InGap))
		gauge(descRoundEnd, float64(cy.RoundEnd.Unix()))
		gauge(descGapCloses, float64(cy.GapCloses.Unix()))
	}
	nodeSeries(gauge, &s)
	planSeries(gauge, s.Plan, s.Rows)
	cur, hasEpochs := currentEpoch(s.Rows)
	if hasEpochs {
		fleetEpochs(gauge, s.Rows, cur)
	}
	seen := make(map[[5]string]bool, len(s.Rows))
	var l [5]string
	var withState [6]string // l and one more label; the metric copies it
	for i := range s.Rows {
		r := &s.Rows[i]
		l = [5]string{r.Label(), model.ShortID(r.ID, 8), r.Service, r.Node, r.Host}
		if seen[l] {
			continue // two rows that read the same would make the scrape fail
		}
		seen[l] = true
		copy(withState[:], l[:])
		for _, st := range nodeStates {
			withState[5] = st.String()
			gauge(descNodeState, b2f(r.NodeState == st), withState[:]...)
		}
		for _, st := range serviceStates {
			withState[5] = st.String()
			gauge(descServiceState, b2f(r.ServiceState == st), withState[:]...)
		}
		if r.Service != "" {
			gauge(descUp, b2f(answers(r.ServiceState)), l[:]...)
		}
		if r.Progress != nil {
			gauge(descProgress, r.Progress.Percent/100, l[:]...)
		}
		if r.Timing.Rate > 0 {
			gauge(descRate, r.Timing.Rate, l[:]...)
		}
		if d := r.Timing.LastK2Pow + r.Timing.LastDisk; d > 0 {
			gauge(descLastProof, d.Seconds(), l[:]...)
		}
		if hasEpochs {
			identityEpoch(gauge, r, cur, l[:])
		}
		for j, h := range r.Health {
			if !slices.Contains(r.Health[:j], h) { // a flag twice would fail the scrape
				withState[5] = strings.TrimSpace(string(h))
				gauge(descHealth, 1, withState[:]...)
			}
		}
	}
}

// nodeSeries sends each node's series: every node of the snapshot has its
// up and its identities by state, one that answers its sync, layer, peers
// and version. Rows of a node Nodes does not list (a host's, until
// NodeStatus names hosts) are counted under their own node and host.
func nodeSeries(gauge gaugeFunc, s *model.Snapshot) {
	nodes := nodesOf(s)
	counts := make(map[nodeKey]*[len(nodeStates)]int, len(nodes))
	for i := range nodes {
		k := statusNode(&nodes[i])
		if counts[k] != nil {
			continue // two nodes that read the same would make the scrape fail
		}
		counts[k] = new([len(nodeStates)]int)
		n := &nodes[i]
		v := &n.View
		gauge(descNodeUp, b2f(v.HasStatus), k[:]...)
		if v.HasStatus {
			gauge(descSynced, b2f(v.Synced), k[:]...)
			gauge(descTop, float64(v.TopLayer), k[:]...)
			gauge(descPeers, float64(v.Peers), k[:]...)
			if v.Version != "" {
				gauge(descNodeInfo, 1, k[0], k[1], v.Version)
			}
		}
		if !n.LastAnswer.IsZero() {
			gauge(descNodeLastAnswer, float64(n.LastAnswer.UnixNano())/1e9, k[:]...)
		}
	}
	var last nodeKey
	var cur *[len(nodeStates)]int
	for i := range s.Rows {
		r := &s.Rows[i]
		// Rows come grouped by node: the map is asked once per node, not per row.
		if k := rowNode(r); cur == nil || k != last {
			last, cur = k, counts[k]
			if cur == nil {
				cur = new([len(nodeStates)]int)
				counts[k] = cur
			}
		}
		if j := slices.Index(nodeStates[:], r.NodeState); j >= 0 {
			cur[j]++
		}
	}
	for k, c := range counts {
		for j, st := range nodeStates {
			gauge(descNodeIdentities, float64(c[j]), k[0], k[1], st.String())
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
