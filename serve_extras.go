package main

import (
	"context"
	"errors"
	"io"

	"postdeck/backend"
)

// startServeExtras attaches what `postdeck serve` shares with the local
// dashboard besides the controller: the Prometheus endpoint (metricsAddr,
// "" for none) and the countdown and alerts. It is the seam where the
// issue-5 metrics/alerts work plugs in; it returns a function undoing it.
func startServeExtras(ctx context.Context, cfg *backend.Config, s *session, metricsAddr string, stderr io.Writer) (func(), error) {
	_, _, _, _ = ctx, cfg, s, stderr
	if metricsAddr != "" {
		return nil, errors.New("--metrics-listen: metrics are not built into this postdeck yet")
	}
	return func() {}, nil
}
