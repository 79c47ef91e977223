package ui

import (
	"strings"
	"testing"

	"postdeck/backend/testkit"
)

// helpSeen scrolls the help from its top to its end with keys, one press at
// a time, and returns every line that was on screen; it fails when the
// end is not reached.
func helpSeen(t *testing.T, m *Model, step string) string {
	t.Helper()
	press(m, "?")
	var seen strings.Builder
	prev := ""
	for range 500 {
		v := screen(m)
		seen.WriteString(v)
		if v == prev {
			return seen.String()
		}
		prev = v
		press(m, keyName(step))
	}
	t.Fatalf("%s never reached the end of the help", step)
	return ""
}

// At 80x24 the help is longer than the screen: it scrolls (and says so),
// and every section, the row markers' legend included, can be reached
// with j, down, pgdn and G alike.
func TestHelpScrollsToEverySectionAt80x24(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	sections := []string{"Keys", "Sort keys", "Filter", "Last epoch", "Process columns", "Row markers",
		"! critical", "* warning", "Automatic proving and the plan", "Stopping safely", "Keys, merging, migration"}
	for _, step := range []string{"j", "down", "pgdown", "space"} {
		m, _ := newFlowTest(t, w)
		m.Update(sizeMsg(80, 24))
		press(m, "?")
		lines := strings.Split(screen(m), "\n")
		foot := lines[len(lines)-1]
		for _, want := range []string{"scroll", "pgup/pgdn", "g/G", "1-21/", "↓ more"} {
			if !strings.Contains(foot, want) {
				t.Errorf("the help's footer lacks %q: %q", want, foot)
			}
		}
		press(m, "esc")
		seen := helpSeen(t, m, step)
		for _, s := range sections {
			if !strings.Contains(seen, s) {
				t.Errorf("scrolling with %s never showed %q", step, s)
			}
		}
		assertFits(t, m, 80, 24)
		lines = strings.Split(screen(m), "\n")
		if foot := lines[len(lines)-1]; !strings.Contains(foot, "↑ end") {
			t.Errorf("at the end of the help the footer says %q", foot)
		}
		press(m, "g")
		mustContain(t, screen(m), "this help scrolls")
		press(m, "G")
		mustContain(t, screen(m), "↑ end")
		press(m, "esc")
		if m.mode != modeTable {
			t.Fatal("esc did not leave the help")
		}
	}
}
