package model

import "fmt"

// LedgerInfo is the epoch ledger's state in a snapshot: where its file is
// and how far the backfill of the node's history has come. Its errors (a
// ledger that could not be opened, a node without the history services)
// are in Node.Errors, sources "ledger" and "node/history".
type LedgerInfo struct {
	Path     string // "" when postdeck runs without a ledger
	Backfill Backfill
	Dropped  int // writes dropped because the writer fell behind
}

// Backfill is the reading of the node's history into the ledger: Done of
// Total identities in the pass under way (or the last one).
type Backfill struct {
	Done, Total int
	Running     bool
}

// String is the progress for a status line, "" when no backfill runs:
// "history: 340/1000 identities".
func (b Backfill) String() string {
	if !b.Running {
		return ""
	}
	return fmt.Sprintf("history: %d/%d identities", b.Done, b.Total)
}
