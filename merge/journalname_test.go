package merge

import (
	"testing"

	"postdeck/backend"
)

// The dashboard warns about an unfinished merge by this file's name.
func TestJournalNameKnownToTheDashboard(t *testing.T) {
	if JournalName != backend.MergeJournalName {
		t.Errorf("merge writes %q, the poller looks for %q", JournalName, backend.MergeJournalName)
	}
}
