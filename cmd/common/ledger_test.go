package common

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"postdeck/backend/ledger"
	"postdeck/model"
)

// holdLedgerEnv names the ledger TestHoldLedgerChild holds.
const holdLedgerEnv = "POSTDECK_TEST_HOLD_LEDGER"

// TestHoldLedgerChild is another postdeck holding the ledger: run by
// TestALedgerHeldByAnotherPostdeck, it opens the ledger, says "ready" and
// holds it until its stdin closes.
func TestHoldLedgerChild(t *testing.T) {
	path := os.Getenv(holdLedgerEnv)
	if path == "" {
		t.Skip("a helper process of TestALedgerHeldByAnotherPostdeck")
	}
	l, err := ledger.Open(path, ledger.Options{Timing: model.MainnetTiming()})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	l.Close()
}

// A ledger another postdeck holds: the dashboard's snapshots still come,
// every row in them, with the ledger's error naming that postdeck.
func TestALedgerHeldByAnotherPostdeck(t *testing.T) {
	_, cfg := simConfig(t, 2)
	state := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^TestHoldLedgerChild$", "-test.count=1")
	child.Env = append(os.Environ(), holdLedgerEnv+"="+ledger.PathIn(state))
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); child.Wait() }()
	if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "ready\n" {
		t.Fatalf("the other postdeck: %q %v", line, err)
	}

	s, err := OpenSession(cfg, testClock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	feed := s.Subscribe()
	if err := s.Extras(state, ""); err != nil {
		t.Fatal(err)
	}
	s.Run()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case snap := <-feed:
			msg := ledgerError(snap)
			if len(snap.Rows) != 2 || msg == "" {
				continue
			}
			for _, w := range []string{ledger.PathIn(state), "in use by another postdeck", fmt.Sprintf("pid %d", child.Process.Pid), "runs without the ledger"} {
				if !strings.Contains(msg, w) {
					t.Errorf("ledger error %q does not say %q", msg, w)
				}
			}
			if s.History.Ledger() != nil || snap.Ledger.Path != "" {
				t.Errorf("a ledger is open: %+v", snap.Ledger)
			}
			return
		case <-deadline:
			t.Fatal("no snapshot with both rows and the ledger's error")
		}
	}
}

func ledgerError(s model.Snapshot) string {
	for _, e := range s.Node.Errors {
		if e.Source == "ledger" {
			return e.Message
		}
	}
	return ""
}

// The session keeps the ledger in the state folder: its backfill shows in
// the rows, and Close leaves the file written and free for the next one.
func TestTheSessionKeepsTheLedgerAndCloseReleasesIt(t *testing.T) {
	sm, cfg := simConfig(t, 2)
	state := t.TempDir()
	s, err := OpenSession(cfg, testClock)
	if err != nil {
		t.Fatal(err)
	}
	feed := s.Subscribe()
	if err := s.Extras(state, ""); err != nil {
		t.Fatal(err)
	}
	s.Run()
	id, e := sm.Layout().Services[0].NodeID, sm.CurrentEpoch()-2
	deadline := time.After(20 * time.Second)
wait:
	for {
		select {
		case snap := <-feed:
			for _, r := range snap.Rows {
				if rec, ok := r.LastEpoch(e + 1); ok && string(r.ID) == string(id) && rec.Epoch == e && rec.ATX != nil {
					break wait
				}
			}
		case <-deadline:
			t.Fatal("no row with its ATX of epoch", e)
		}
	}
	s.Close()
	l, err := ledger.Open(ledger.PathIn(state), ledger.Options{Timing: model.MainnetTiming(), Now: testClock.Now})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	defer l.Close()
	recs, err := l.Records([]ledger.Identity{{ID: id}}, e, e)
	if err != nil || len(recs) != 1 || recs[0].ATX == nil {
		t.Errorf("stored: %+v %v", recs, err)
	}
}
