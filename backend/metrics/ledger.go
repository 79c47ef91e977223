package metrics

import "github.com/prometheus/client_golang/prometheus"

// LedgerStatus is what the metrics show of the epoch ledger: its writer
// (ledger.Status) and the backfill of the node's history.
type LedgerStatus struct {
	Open                  bool // the ledger file is open; false: the dashboard runs without it
	Queued, Dropped, Lost int
	WriteFailing          bool // the last write failed
	// BackfillDone of BackfillTotal identities have had their history read.
	BackfillDone, BackfillTotal int
}

var (
	descLedgerOpen = prometheus.NewDesc("postdeck_ledger_open",
		"1 when the epoch ledger is open; 0 when postdeck runs without it (see its log for why).", nil, nil)
	descLedgerQueued = prometheus.NewDesc("postdeck_ledger_queued_writes",
		"Writes waiting for the ledger's writer.", nil, nil)
	descLedgerDropped = prometheus.NewDesc("postdeck_ledger_dropped_writes_total",
		"Writes dropped because the ledger's queue was full.", nil, nil)
	descLedgerLost = prometheus.NewDesc("postdeck_ledger_lost_writes_total",
		"Writes lost because their transaction failed (disk full, file locked, corrupt).", nil, nil)
	descLedgerFailing = prometheus.NewDesc("postdeck_ledger_write_failing",
		"1 while the ledger's last write failed.", nil, nil)
	descBackfillDone = prometheus.NewDesc("postdeck_ledger_backfill_done",
		"Identities whose ATX and reward history the ledger has read from the node.", nil, nil)
	descBackfillTotal = prometheus.NewDesc("postdeck_ledger_backfill_total",
		"Identities whose history the ledger reads.", nil, nil)
)

var ledgerDescs = []*prometheus.Desc{descLedgerOpen, descLedgerQueued, descLedgerDropped, descLedgerLost,
	descLedgerFailing, descBackfillDone, descBackfillTotal}

// WatchLedger adds the ledger's state to the metrics: status is called at
// each scrape and must not block.
func (m *Metrics) WatchLedger(status func() LedgerStatus) {
	m.mu.Lock()
	m.ledger = status
	m.mu.Unlock()
}

func ledgerSeries(ch chan<- prometheus.Metric, st LedgerStatus) {
	send := func(d *prometheus.Desc, t prometheus.ValueType, v float64) {
		ch <- prometheus.MustNewConstMetric(d, t, v)
	}
	send(descLedgerOpen, prometheus.GaugeValue, b2f(st.Open))
	if !st.Open {
		return
	}
	send(descLedgerQueued, prometheus.GaugeValue, float64(st.Queued))
	send(descLedgerDropped, prometheus.CounterValue, float64(st.Dropped))
	send(descLedgerLost, prometheus.CounterValue, float64(st.Lost))
	send(descLedgerFailing, prometheus.GaugeValue, b2f(st.WriteFailing))
	send(descBackfillDone, prometheus.GaugeValue, float64(st.BackfillDone))
	send(descBackfillTotal, prometheus.GaugeValue, float64(st.BackfillTotal))
}
