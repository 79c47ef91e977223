package model

import "testing"

func TestBackfillProgressLine(t *testing.T) {
	if got := (Backfill{Done: 340, Total: 1000, Running: true}).String(); got != "history: 340/1000 identities" {
		t.Errorf("running: %q", got)
	}
	if got := (Backfill{Done: 1000, Total: 1000}).String(); got != "" {
		t.Errorf("done: %q, want nothing to show", got)
	}
}
