package common

import (
	"net"
	"testing"
	"time"

	"postdeck/backend/testkit"
	"postdeck/model"
)

// A session as the dashboard runs one: the feed gets snapshots that went
// through the extras (the countdown) and show every identity, and Close
// leaves nothing running: the feed is closed, the metrics address is free
// again, the session's context is done, and a second Close does nothing.
func TestLiveSessionClosesEverything(t *testing.T) {
	_, cfg := simConfig(t, 2)
	addr := testkit.FreeAddr(t)
	s, err := OpenSession(cfg, testClock)
	if err != nil {
		t.Fatal(err)
	}
	feed := s.Subscribe()
	if _, err := s.Live(t.TempDir(), addr); err != nil {
		s.Close()
		t.Fatal(err)
	}
	deadline := time.After(15 * time.Second)
	for snap := range feed {
		if snap.Cycle.Known && len(snap.Rows) == 2 {
			break
		}
		select {
		case <-deadline:
			s.Close()
			t.Fatal("no snapshot with the countdown and both identities")
		default:
		}
	}

	s.Close()
	if s.Ctx.Err() == nil {
		t.Error("the session's context is not done after Close")
	}
	drained := make(chan struct{})
	go func() {
		for range feed {
		}
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(15 * time.Second):
		t.Fatal("the feed is still open after Close")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the metrics address is still taken after Close: %v", err)
	}
	ln.Close()
	s.Close() // again: nothing left to stop, and it must not hang
}

// A session as a CLI verb opens one: a controller but no polling in the
// background; one poll sees every identity, and Close returns.
func TestCommandSessionPollsOnceAndCloses(t *testing.T) {
	_, cfg := simConfig(t, 2)
	s, err := OpenSession(cfg, testClock)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctl, err := s.Control(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	snap := s.Poller.PollOnce(s.Ctx)
	if len(snap.Rows) != 2 {
		t.Fatalf("%d rows, want 2", len(snap.Rows))
	}
	for _, r := range snap.Rows {
		if r.NodeState == model.NodeUnknown {
			t.Errorf("%s: the node's state is unknown", r.Label())
		}
	}
	if len(ctl.Pending()) != 0 {
		t.Errorf("pending stops %v in a fresh state folder", ctl.Pending())
	}
}
