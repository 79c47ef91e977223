package demo

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// Two hours before epoch 89's gap (2026-12-21 08:00Z) the demo's few
// services, each on a disk of its own, plan to fit: the header says so,
// beside the countdown.
func TestDemoHeaderShowsThePlanInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 200, 30, fmt.Sprintf("env POSTDECK_NOW=2026-12-21T06:00:00Z XDG_STATE_HOME=%s %s demo --ids 4; sleep 60", t.TempDir(), cmdtest.Binary))
	s := tm.WaitFor("the plan in the header", cmdtest.Contains("cycle gap in", "plan: all"))
	if header := strings.SplitN(s, "\n", 2)[0]; !regexp.MustCompile(`cycle gap in (2h00m|1h5\dm) · plan: all [1-4] fit`).MatchString(header) {
		t.Errorf("header before the gap:\n%s", header)
	}
	tm.Keys("q")
}
