package demo

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// rowOf is the table line of the identity named name.
func rowOf(screen, name string) string {
	for _, r := range tableRows(screen) {
		if strings.Contains(r, name) {
			return r
		}
	}
	return ""
}

// In epoch 89's cycle gap the demo's table has its LAST EPOCH column, with
// ✓ and rewards for the identities that published and ✗ "PoST proof failed"
// for post03 (the sim's failed proof, in epoch 88); its detail view gives
// the why-line at the top and the epoch timeline.
func TestDemoShowsTheLedgerInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 120, 40, fmt.Sprintf("env POSTDECK_NOW=2026-12-21T14:00:00Z XDG_STATE_HOME=%s %s demo; sleep 60", t.TempDir(), cmdtest.Binary))
	s := tm.WaitFor("the LAST EPOCH column with the failed proof", func(s string) bool {
		return strings.Contains(s, "LAST EPOCH") && strings.Contains(rowOf(s, "post03.key"), "✗ PoST proof failed")
	})
	if !regexp.MustCompile(`✓ \d+(\.\d+)? SMH`).MatchString(rowOf(s, "post01.key")) {
		t.Errorf("post01's last epoch is not ✓ with its rewards:\n%s", s)
	}
	tm.Keys("/", "^post03", "Enter")
	tm.WaitFor("post03 alone", func(s string) bool { return len(tableRows(s)) == 1 && rowOf(s, "post03.key") != "" })
	tm.Keys("Enter")
	s = tm.WaitFor("post03's detail with its timeline", cmdtest.Contains("Epochs (", "epoch 87  ATX ✓"))
	for _, want := range []string{
		"Last epoch     epoch 88: ✗ PoST proof failed",
		"epoch 89  ATX … epoch still running",
		"epoch 88  ATX ✗  ·  rewards in epoch 89: 0",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("post03's detail lacks %q:\n%s", want, s)
		}
	}
	if !strings.Contains(s, "—  PoST proof failed") {
		t.Errorf("epoch 88's why-line is not in the timeline:\n%s", s)
	}
	tm.Keys("q")
}

// Told no date, the demo runs in a cycle gap, so its ever-proving
// identities agree with the calendar and the failed proof is still shown
// as failed, not retried.
func TestDemoWithoutADateRunsInTheGapInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 120, 40, fmt.Sprintf("env -u POSTDECK_NOW XDG_STATE_HOME=%s %s demo; sleep 60", t.TempDir(), cmdtest.Binary))
	tm.WaitFor("the gap and the failed proof", func(s string) bool {
		return strings.Contains(s, "CYCLE GAP: closes in") && strings.Contains(rowOf(s, "post03.key"), "✗ PoST proof failed")
	})
	tm.Keys("q")
}
