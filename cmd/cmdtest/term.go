package cmdtest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"postdeck/clock"
)

// Term is a real terminal: a tmux session running postdeck.
type Term struct {
	t    testing.TB
	Name string
	// escaped is set by an Escape not yet followed by a WaitFor: a key
	// sent right after it could reach the program in the same read, as
	// Alt+key.
	escaped bool
}

// NewTerm starts cmdline in a detached tmux session of the given size. Where
// CI runs, tmux is installed by .ci/run, so a missing tmux fails there.
func NewTerm(t testing.TB, w, h int, cmdline string) *Term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tmux is missing in CI: .ci/run should install it")
		}
		t.Skip("tmux not installed")
	}
	tm := &Term{t: t, Name: fmt.Sprintf("postdeck-test-%d-%d", os.Getpid(), time.Now().UnixNano())}
	args := []string{"new-session", "-d", "-s", tm.Name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	// A tmux server already running has its own environment: hand the
	// suite's date on to the session explicitly.
	if v, ok := os.LookupEnv(clock.Env); ok {
		args = append(args, "-e", clock.Env+"="+v)
	}
	tm.Tmux(append(args, cmdline)...)
	t.Cleanup(func() { exec.Command("tmux", "-L", tm.Name, "kill-server").Run() })
	return tm
}

func (tm *Term) Tmux(args ...string) string {
	tm.t.Helper()
	// Each terminal has a tmux server of its own, named like its session:
	// a server shared by tests exits when one test ends its last session,
	// under another test's new-session ("server exited unexpectedly"), and
	// one run elsewhere can be killed or restarted under the suite.
	out, err := exec.Command("tmux", append([]string{"-L", tm.Name}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

// Keys types keys in order. Keys are read in the order sent, so no pause
// is needed between them, except after Escape: the next key could come in
// the same read and make Alt+key. So Escape must be followed by a WaitFor
// for its effect before any other key (keys fails the test otherwise).
func (tm *Term) Keys(keys ...string) {
	tm.t.Helper()
	for _, k := range keys {
		if tm.escaped {
			tm.t.Fatalf("key %q sent right after Escape: wait for Escape's effect first, or the two may be read as Alt+%s", k, k)
		}
		tm.Tmux("send-keys", "-t", tm.Name, k)
		tm.escaped = k == "Escape"
	}
}

func (tm *Term) Screen() string { return tm.Tmux("capture-pane", "-p", "-t", tm.Name) }

// WaitFor polls the screen until cond holds, failing with the last screen.
func (tm *Term) WaitFor(what string, cond func(screen string) bool) string {
	tm.t.Helper()
	s, ok := tm.Poll(20*time.Second, cond)
	if !ok {
		tm.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s)
	}
	return s
}

// Poll is WaitFor that gives up after d and says whether cond held.
func (tm *Term) Poll(d time.Duration, cond func(screen string) bool) (string, bool) {
	tm.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := tm.Screen()
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

// Contains is a screen condition: every one of subs is on it.
func Contains(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if !strings.Contains(s, sub) {
				return false
			}
		}
		return true
	}
}
