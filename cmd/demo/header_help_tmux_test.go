package demo

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// headerKeeps is the screen condition of a demo's header at width w: the
// first line says demo, the second automatic proving's state, nothing is
// cut or wider than the screen, and the critical count is the table's "!"
// rows (one frame: the same capture).
func headerKeeps(w int) func(string) bool {
	return func(s string) bool {
		lines := strings.Split(s, "\n")
		if len(lines) < 3 || widest(s) > w {
			return false
		}
		first, second := lines[0], lines[1]
		if !strings.Contains(first, "postdeck — demo") || !regexp.MustCompile(`auto (on|off)`).MatchString(second) ||
			strings.Contains(first+second, "…") {
			return false
		}
		critical := 0
		if m := regexp.MustCompile(`(\d+) critical`).FindStringSubmatch(second); m != nil {
			critical, _ = strconv.Atoi(m[1])
		}
		bangs := 0
		for _, r := range tableRows(s) {
			if strings.HasPrefix(strings.TrimPrefix(r, ">"), " !") || strings.HasPrefix(r, ">!") {
				bangs++
			}
		}
		return bangs == critical
	}
}

// The real demo at 80, 120 and 200 columns keeps what matters in its
// header, and at 80x24 its help scrolls to the row markers' legend.
func TestDemoHeaderAndHelpAtEveryWidthInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 80, 24, fmt.Sprintf("env XDG_STATE_HOME=%s %s demo --speed 3; echo postdeck-exited-$?; sleep 60", t.TempDir(), cmdtest.Binary))
	tm.WaitFor("the table", cmdtest.Contains("post01.key", "NAME"))
	for _, w := range []int{200, 120, 80} {
		tm.Tmux("resize-window", "-t", tm.Name, "-x", fmt.Sprint(w), "-y", "24")
		tm.WaitFor(fmt.Sprintf("the header at %d columns", w), headerKeeps(w))
	}

	tm.Keys("?")
	s := tm.WaitFor("the help, saying it scrolls", cmdtest.Contains("this help scrolls", "1-21/", "↓ more"))
	seen := s
	for page := 0; !strings.Contains(s, "↑ end"); page++ {
		if page == 20 {
			t.Fatalf("20 pages down and the help's end is not reached:\n%s", s)
		}
		before := helpPosition(s)
		tm.Keys("PageDown")
		s = tm.WaitFor("the help to move a page", func(now string) bool { return helpPosition(now) != before })
		seen += s
	}
	for _, want := range []string{"Sort keys", "Filter", "Row markers", "! critical", "* warning", "Stopping safely", "RST"} {
		if !strings.Contains(seen, want) {
			t.Errorf("scrolling the help never showed %q", want)
		}
	}
	tm.Keys("g")
	tm.WaitFor("the help's top again", cmdtest.Contains("this help scrolls"))
	tm.Keys("q")
	tm.WaitFor("the table after help", cmdtest.Contains("post01.key", "NAME"))
	tm.Keys("q")
	tm.WaitFor("postdeck to exit cleanly", cmdtest.Contains("postdeck-exited-0"))
}

// helpPosition is the footer's "1-21/67" on the help screen.
func helpPosition(screen string) string {
	return regexp.MustCompile(`\d+-\d+/\d+`).FindString(screen)
}
