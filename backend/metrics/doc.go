// Package metrics serves the snapshot and the alerts as Prometheus series.
package metrics
