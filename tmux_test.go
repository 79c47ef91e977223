package main

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"postdeck/clock"
)

// term is a real terminal: a tmux session running postdeck.
type term struct {
	t    *testing.T
	name string
	// escaped is set by an Escape not yet followed by a waitFor: a key
	// sent right after it could reach the program in the same read, as
	// Alt+key.
	escaped bool
}

// newTerm starts cmdline in a detached tmux session of the given size. Where
// CI runs, tmux is installed by .ci/run, so a missing tmux fails there.
func newTerm(t *testing.T, w, h int, cmdline string) *term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is missing in CI: .ci/run should install it")
		}
		t.Skip("tmux not installed")
	}
	tm := &term{t: t, name: fmt.Sprintf("postdeck-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	args := []string{"new-session", "-d", "-s", tm.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	// A tmux server already running has its own environment: hand the
	// suite's date on to the session explicitly.
	if v, ok := os.LookupEnv(clock.Env); ok {
		args = append(args, "-e", clock.Env+"="+v)
	}
	tm.tmux(append(args, cmdline)...)
	t.Cleanup(func() { exec.Command("tmux", "kill-session", "-t", tm.name).Run() })
	return tm
}

func (tm *term) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", args...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// keys types keys in order. Keys are read in the order sent, so no pause
// is needed between them, except after Escape: the next key could come in
// the same read and make Alt+key. So Escape must be followed by a waitFor
// for its effect before any other key (keys fails the test otherwise).
func (tm *term) keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if tm.escaped {
			tm.t.Fatalf("key %q sent right after Escape: wait for Escape's effect first, or the two may be read as Alt+%s", k, k)
		}
		tm.tmux("send-keys", "-t", tm.name, k)
		tm.escaped = k == "Escape"
	}
}

func (tm *term) screen() string { return tm.tmux("capture-pane", "-p", "-t", tm.name) }

// waitFor polls the screen until cond holds, failing with the last screen.
func (tm *term) waitFor(what string, cond func(screen string) bool) string {
	tm.t.Helper()
	s, ok := tm.poll(20*time.Second, cond)
	if !ok {
		tm.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
	}
	return s
}

// poll is waitFor that gives up after d and says whether cond held.
func (tm *term) poll(d time.Duration, cond func(screen string) bool) (string, bool) {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := tm.screen()
		if cond(s) {
			tm.escaped = false
			return s, true
		}
		if time.Now().After(deadline) {
			return s, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func contains(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}
}

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
	tm := newTerm(t, 100, 30, fmt.Sprintf("env XDG_STATE_HOME=%s %s demo --speed 3; echo postdeck-exited-$?; sleep 60", t.TempDir(), binary))
	tm.waitFor("the table with proving identities", contains("post01.key", "PROVING", "NAME"))

	// Filter with a regex, live.
	tm.keys("/", "^post0[12]", "Enter")
	s := tm.waitFor("the filtered table", func(s string) bool { return len(tableRows(s)) == 2 })
	if !strings.Contains(s, "post01.key") || !strings.Contains(s, "post02.key") {
		t.Fatalf("filter ^post0[12] shows:\n%s", s)
	}
	// Esc clears the filter; `!` inverts.
	tm.keys("Escape")
	tm.waitFor("all 12 rows back", func(s string) bool { return len(tableRows(s)) == 12 })
	tm.keys("/", "!^post0", "Enter")
	s = tm.waitFor("the inverted filter", func(s string) bool { return len(tableRows(s)) == 3 })
	if strings.Contains(s, "post01.key") {
		t.Fatalf("inverted filter still shows post01:\n%s", s)
	}
	tm.keys("Escape")
	tm.waitFor("all 12 rows back", func(s string) bool { return len(tableRows(s)) == 12 })

	// Same sort key again reverses: name descending puts post12 first.
	tm.keys("1")
	s = tm.waitFor("reversed name order", func(s string) bool {
		rows := tableRows(s)
		return len(rows) == 12 && strings.Contains(rows[0], "post12.key")
	})

	// Enter opens the detail view with the full id; Esc goes back.
	tm.keys("Enter")
	tm.waitFor("the detail view", func(s string) bool { return regexp.MustCompile(`ID\s+[0-9a-f]{64}`).MatchString(s) })
	tm.keys("Escape")
	tm.waitFor("the table again", func(s string) bool { return len(tableRows(s)) == 12 })

	// Help is built from the keymap.
	tm.keys("?")
	tm.waitFor("help", contains("Sort keys", "filter"))
	tm.keys("?")
	tm.waitFor("the table after help", func(s string) bool { return len(tableRows(s)) == 12 })

	// Resize to 80×24: still usable, nothing wider than the terminal.
	tm.tmux("resize-window", "-t", tm.name, "-x", "80", "-y", "24")
	s = tm.waitFor("the table at 80 columns", func(s string) bool {
		return strings.Contains(s, "post") && strings.Contains(s, "synced") && widest(s) <= 80
	})

	tm.keys("q")
	tm.waitFor("postdeck to exit cleanly", contains("postdeck-exited-0"))
}

func widest(screen string) int {
	w := 0
	for _, l := range strings.Split(screen, "\n") {
		w = max(w, len([]rune(strings.TrimRight(l, " "))))
	}
	return w
}
