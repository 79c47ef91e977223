package backend

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"postdeck/backend/testkit"
	"postdeck/model"
	"postdeck/sim"
)

// The fleet is asked over real simulated nodes: node2 loads a copy of
// node1's first key, node3 hangs (its key folder is read all the same),
// node4 hangs and has no data folder (nothing of it compared). The hung
// nodes hang until both others have been asked.
func TestAskFleetSaysWhoHoldsEachKeyAndWhoWasNotAsked(t *testing.T) {
	a := startSimSeeded(t, 2, 1)
	la := a.Layout()
	b, err := sim.Start(context.Background(), sim.Options{IDs: 1, Manual: true, Seed: 2, FirstIndex: 3, Now: testkit.Clock.Now, ExtraKeyFiles: []string{la.Services[0].KeyFile}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	hung := hangingNode(t)
	// node3's folder holds a key file it has not loaded.
	if err := os.MkdirAll(filepath.Join(hung.DataFolder, "identities"), 0o700); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(la.Services[1].KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hung.DataFolder, "identities", "spare.key"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	blind := hangingNode(t)
	blind.DataFolder = ""

	cfg := simFleetConfig(answerTimeout, la, b.Layout(), hung.Layout, blind.Layout)
	f := whileHung(t, "asking a fleet with hung nodes", []*hungNode{hung, blind}, []*sim.Sim{a, b},
		func() *model.FleetKeys { return AskFleet(context.Background(), cfg) })

	shared := la.Services[0].NodeID
	c := f.Conflict(shared, "node1")
	want := "node2 (listed by the node, key file identities/" + filepath.Base(la.Services[0].KeyFile) + ")"
	if !c.Refused() || c.HolderText() != want {
		t.Errorf("node1's shared key: holders %q, want %q", c.HolderText(), want)
	}
	if len(c.Blind) != 1 || c.Blind[0].Node != "node4" || len(c.Partial) != 1 || c.Partial[0].Node != "node3" {
		t.Errorf("gaps %+v", f.Gaps)
	}
	if c := f.Conflict(la.Services[1].NodeID, "node1"); c.HolderText() != "node3 (key file identities/spare.key)" {
		t.Errorf("an unloaded key file on a hung node: %q", c.HolderText())
	}
	if c := f.Conflict(b.Layout().Services[0].NodeID, "node2"); len(c.Holders) != 0 {
		t.Errorf("node2's own key held elsewhere: %q", c.HolderText())
	}
}
