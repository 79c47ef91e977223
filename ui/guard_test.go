package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/backend/testkit"
	"postdeck/merge"
	"postdeck/sim"
)

// fleetWorld is the wizard's world as the first of two nodes (its
// listener closed: stopped), beside a real simulated node2 that holds and
// loads nodeA's second key.
func fleetWorld(t *testing.T) *wizardWorld {
	t.Helper()
	w := newWizardWorld(t)
	w.ln.Close()
	s, err := sim.Start(context.Background(), sim.Options{IDs: 1, Manual: true, Seed: 3, Now: testkit.Clock.Now,
		ExtraKeyFiles: []string{filepath.Join(w.root, "nodeA", "identities", w.a[1].Name)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	l := s.Layout()
	text := fmt.Sprintf("[[node]]\nname = \"node1\"\npost_listener = %q\ndata_folder = %q\n\n[[node]]\nname = \"node2\"\npost_listener = %q\nprivate_listener = %q\npublic_listener = %q\ndata_folder = %q\n",
		w.ln.Addr().String(), w.data, l.PostListener, l.PrivateListener, l.PublicListener, l.DataFolder)
	if err := os.WriteFile(w.cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if w.cfg, err = config.Load(w.cfgPath); err != nil {
		t.Fatal(err)
	}
	return w
}

// The wizard plans with what node2 holds: its key is a refusal like the
// others, naming the command that overrides it, and Continue stays off.
func TestWizardRefusesAKeyAnotherNodeHolds(t *testing.T) {
	w := fleetWorld(t)
	m, c := newFlowTest(t, w.world)
	press(m, "M")
	typeText(m, filepath.Join(w.root, "nodeA"))
	settle(t, m, press(m, "enter"), shows(m, "every check is ticked"))
	press(m, "enter")
	settle(t, m, press(m, "enter"), func() bool { return m.flow.(*wizard).batch != nil })
	c.advance(dialogGrace)
	b := m.flow.(*wizard).batch
	if p := b.Plans[0]; !p.Has(merge.KindOnOtherNode) || len(p.Problems) != 1 ||
		!strings.Contains(p.Problems[0].Message, "postdeck merge --from "+filepath.Join(w.root, "nodeA")+" --to "+w.data+" --place-anyway") {
		t.Fatalf("problems %+v", p.Problems)
	}
	press(m, "pgdown", "pgdown", "pgdown")
	mustContain(t, screen(m), "a1.key: identity", "held by node2", "equivocation", "Continue (refused: see the problems)")
	press(m, "tab", "tab")
	mustContain(t, screen(m), "> Back <")
}

// The add-key form refuses the same key for node1, with the command to run,
// and stays on the form: nothing is written.
func TestKeyFormRefusesAKeyAnotherNodeHolds(t *testing.T) {
	w := fleetWorld(t)
	k := w.a[1]
	pd := postDir(t, filepath.Join(w.root, "disks", "moved"), k.Public, k.Private)
	m, _ := newFlowTest(t, w.world)
	press(m, "i")
	typeText(m, pd)
	settle(t, m, press(m, "enter"), func() bool { return m.flow.(*keyFlow).stage == keyForm && m.flow.(*keyFlow).refusal != "" })
	f := m.flow.(*keyFlow)
	for _, want := range []string{"held by node2 (listed by the node, key file identities/" + k.Name + ")", "on node1 too", "equivocation",
		"postdeck keys add " + pd + " --node node1 --place-anyway"} {
		if !strings.Contains(f.refusal, want) {
			t.Errorf("refusal lacks %q: %s", want, f.refusal)
		}
	}
	mustContain(t, screen(m), "not added: identity", "PoST data directory")
	if got := keyFiles(t, w.data); len(got) != 1 {
		t.Fatalf("node1's keys %v: the refused key was written", got)
	}
	// enter again plans again and is refused again: the flow cannot go on.
	settle(t, m, press(m, "enter"), func() bool { return f.stage == keyForm && f.refusal != "" })
	if f.plan != nil && f.stage != keyForm {
		t.Fatalf("the refused key reached stage %d", f.stage)
	}
}
