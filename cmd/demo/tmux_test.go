package demo

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// tableRows are the screen lines that show an identity row.
func tableRows(screen string) []string {
	var rows []string
	for _, l := range strings.Split(screen, "\n") {
		if regexp.MustCompile(`post\d+\.key\s+[0-9a-f]{8}`).MatchString(l) {
			rows = append(rows, l)
		}
	}
	return rows
}

func TestDemoDashboardInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 100, 30, fmt.Sprintf("env XDG_STATE_HOME=%s %s demo --speed 3; echo postdeck-exited-$?; sleep 60", t.TempDir(), cmdtest.Binary))
	tm.WaitFor("the table with proving identities", cmdtest.Contains("post01.key", "PROVING", "NAME"))

	// Filter with a regex, live.
	tm.Keys("/", "^post0[12]", "Enter")
	s := tm.WaitFor("the filtered table", func(s string) bool { return len(tableRows(s)) == 2 })
	if !strings.Contains(s, "post01.key") || !strings.Contains(s, "post02.key") {
		t.Fatalf("filter ^post0[12] shows:\n%s", s)
	}
	// Esc clears the filter; `!` inverts.
	tm.Keys("Escape")
	tm.WaitFor("all 12 rows back", func(s string) bool { return len(tableRows(s)) == 12 })
	tm.Keys("/", "!^post0", "Enter")
	s = tm.WaitFor("the inverted filter", func(s string) bool { return len(tableRows(s)) == 3 })
	if strings.Contains(s, "post01.key") {
		t.Fatalf("inverted filter still shows post01:\n%s", s)
	}
	tm.Keys("Escape")
	tm.WaitFor("all 12 rows back", func(s string) bool { return len(tableRows(s)) == 12 })

	// Same sort key again reverses: name descending puts post12 first.
	tm.Keys("1")
	s = tm.WaitFor("reversed name order", func(s string) bool {
		rows := tableRows(s)
		return len(rows) == 12 && strings.Contains(rows[0], "post12.key")
	})

	// Enter opens the detail view with the full id; Esc goes back.
	tm.Keys("Enter")
	tm.WaitFor("the detail view", func(s string) bool { return regexp.MustCompile(`ID\s+[0-9a-f]{64}`).MatchString(s) })
	tm.Keys("Escape")
	tm.WaitFor("the table again", func(s string) bool { return len(tableRows(s)) == 12 })

	// Help is built from the keymap.
	tm.Keys("?")
	tm.WaitFor("help", cmdtest.Contains("Sort keys", "filter"))
	tm.Keys("?")
	tm.WaitFor("the table after help", func(s string) bool { return len(tableRows(s)) == 12 })

	// Resize to 80×24: still usable, nothing wider than the terminal.
	tm.Tmux("resize-window", "-t", tm.Name, "-x", "80", "-y", "24")
	s = tm.WaitFor("the table at 80 columns", func(s string) bool {
		return strings.Contains(s, "post") && strings.Contains(s, "synced") && widest(s) <= 80
	})

	tm.Keys("q")
	tm.WaitFor("postdeck to exit cleanly", cmdtest.Contains("postdeck-exited-0"))
}

func widest(screen string) int {
	w := 0
	for _, l := range strings.Split(screen, "\n") {
		w = max(w, len([]rune(strings.TrimRight(l, " "))))
	}
	return w
}
