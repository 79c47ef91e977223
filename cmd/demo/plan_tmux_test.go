package demo

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// Two hours before epoch 89's gap (2026-12-21 08:00Z) the demo's three
// services, all on its crowded disk1 at 5 h of k2pow each, plan for one to
// miss the gap: the header says so with its alarms, beside the countdown.
func TestDemoHeaderShowsThePlanInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 200, 30, fmt.Sprintf("env POSTDECK_NOW=2026-12-21T06:00:00Z XDG_STATE_HOME=%s %s demo --ids 4; sleep 60", t.TempDir(), cmdtest.Binary))
	s := tm.WaitFor("the plan in the header", cmdtest.Contains("cycle gap in", "plan: 1 will miss"))
	if header := strings.SplitN(s, "\n", 2)[0]; !regexp.MustCompile(`cycle gap in (2h00m|1h5\dm)`).MatchString(header) || !strings.Contains(header, "plan: 1 will miss") {
		t.Errorf("header before the gap:\n%s", header)
	}
	tm.Keys("q")
}
