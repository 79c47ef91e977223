package backend

import (
	"bytes"
	"context"
	"testing"
	"time"

	"postdeck/backend/nodeapi"
	"postdeck/backend/operator"
	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

func TestAttachEventsDecoratesSnapshots(t *testing.T) {
	s, err := sim.Start(context.Background(), sim.Options{IDs: 3, Manual: true, Seed: 1, Dir: t.TempDir(), Now: testkit.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l := s.Layout()
	cfg := simConfig(l)
	// The first identity is not in the table: no service, no key folder,
	// and hidden from the node after its event.
	cfg.Services = cfg.Services[1:]
	cfg.Node.DataFolder = ""
	cfg.Poll.Interval.Duration = 50 * time.Millisecond
	node := topNode(t, nodeapi.OptionsFor(cfg))
	ops := operator.NewClient(2 * time.Second)
	t.Cleanup(ops.Close)
	p := NewPoller(cfg, node, ops)
	ctx, cancel := context.WithCancel(context.Background())
	f := AttachEvents(ctx, p, nil)
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	unknown, known := l.Services[0].NodeID, l.Services[1].NodeID
	testkit.Eventually(t, 5*time.Second, "stream up", func() bool { return f.Stats().Connected })
	s.SetNodeState(unknown, model.NodeProving)
	s.SetNodeState(unknown, model.NodeAbsent)
	s.SetNodeState(known, model.NodeProving)
	testkit.Eventually(t, 5*time.Second, "both events", func() bool { return f.Stats().Received == 2 })
	ch, unsub := p.Subscribe()
	defer unsub()
	deadline := time.After(5 * time.Second)
	for {
		var snap model.Snapshot
		select {
		case snap = <-ch:
		case <-deadline:
			t.Fatal("no decorated snapshot")
		}
		if len(snap.Events) < 2 || len(snap.Rows) != 2 {
			continue // polled before the identity left the node
		}
		for _, r := range snap.Rows {
			if bytes.Equal(r.ID, unknown) {
				t.Fatal("the unknown identity has a row")
			}
			if bytes.Equal(r.ID, known) {
				if e := r.LastEvent(); e == nil || e.Kind != "post_start" {
					t.Fatalf("known row's events %+v", r.Events)
				}
			} else if len(r.Events) != 0 {
				t.Fatalf("row %s has events %+v", r.Label(), r.Events)
			}
		}
		if !bytes.Equal(snap.Events[0].Smesher, unknown) {
			t.Fatalf("node-wide events %+v", snap.Events)
		}
		return
	}
}
