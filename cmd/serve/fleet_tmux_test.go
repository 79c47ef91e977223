package serve

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
)

// TestTheDashboardShowsTheFleetAndOutlivesALostNodeAndHost runs the real
// dashboard in tmux over three simulated nodes (node2 holding node1's
// first key too) and a remote postdeck serve, at 80, 120 and 200 columns.
func TestTheDashboardShowsTheFleetAndOutlivesALostNodeAndHost(t *testing.T) {
	r := startRemoteServe(t)
	f, path := cmdtest.StartFleet(t, func(cfg *config.Config) {
		cfg.Poll.Interval.Duration = 300 * time.Millisecond
		cfg.Poll.NodeTimeout.Duration = time.Second
		cfg.Hosts = []config.HostConfig{{Name: "rig2", Address: r.srv.addr.String(), IdentityFile: r.full, KnownHosts: r.knownHosts}}
	})
	shared := strings.TrimSuffix(filepath.Base(f.SharedKey), ".key")
	terms := map[int]*cmdtest.Term{}
	for _, w := range []int{80, 120, 200} {
		// Not t.TempDir: the dashboard may still be closing its ledger when
		// tmux is killed, and a folder it writes in cannot be removed then.
		state, err := os.MkdirTemp("", "postdeck-fleet-state-")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(state) })
		terms[w] = cmdtest.NewTerm(t, w, 30, fmt.Sprintf("XDG_STATE_HOME=%s TERM=xterm-256color %s --config %s; sleep 60", state, cmdtest.Binary, path))
	}
	for w, tm := range terms {
		screen := tm.WaitFor(fmt.Sprintf("the fleet at %d columns", w), cmdtest.Contains("node1", "node2", "node3", "rig2", "ON NODE", "!"+shared))
		if w >= 120 {
			_ = screen
			tm.WaitFor("the remote row", cmdtest.Contains("rig2:"+r.svc.Name, "4 nodes"))
		}
	}

	// node2 stops and the host goes away: each is said to be down, and the
	// others keep their rows and their fresh polls.
	if err := f.Sims[1].StopNode(); err != nil {
		t.Fatal(err)
	}
	r.srv.stop()
	for w, tm := range terms {
		down := func(s string) bool {
			return lineWith(s, "node2", "DOWN") && lineWith(s, "rig2", "DOWN") && strings.Contains(s, "2 DOWN") && strings.Contains(s, "updated just now")
		}
		if w == 80 {
			down = func(s string) bool { return lineWith(s, "node2", "DOWN") && lineWith(s, "rig2", "DOWN") }
		}
		tm.WaitFor(fmt.Sprintf("node2 and rig2 down at %d columns", w), down)
		tm.WaitFor("node3's rows still there", cmdtest.Contains("node3"))
	}
}

// lineWith says whether one line of s holds every word.
func lineWith(s string, words ...string) bool {
	for _, l := range strings.Split(s, "\n") {
		all := true
		for _, w := range words {
			all = all && strings.Contains(l, w)
		}
		if all {
			return true
		}
	}
	return false
}
