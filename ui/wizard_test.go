package ui

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"postdeck/backend/config"
	"postdeck/merge/mergetest"
)

// wizardWorld: a target with one identity whose node's post listener is
// held open (the node "runs"), and two old nodes: a with two identities, b a
// supervised one (its only key is local.key). Every merged identity has a
// PoST data folder.
type wizardWorld struct {
	*world
	ln       net.Listener
	a, b     []mergetest.Key
	postDirs map[string]string // key name in the target → PoST data folder
}

func newWizardWorld(t *testing.T) *wizardWorld {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	w := &wizardWorld{world: newWorld(t, ln.Addr().String(), 1), ln: ln, postDirs: map[string]string{}}
	w.a = w.node(t, "nodeA", "a", 2)
	w.b = w.node(t, "nodeB", "b", 1)
	ids := filepath.Join(w.root, "nodeB", "identities")
	if err := os.Rename(filepath.Join(ids, w.b[0].Name), filepath.Join(ids, "local.key")); err != nil {
		t.Fatal(err)
	}
	for _, k := range w.a {
		w.postDirs[k.Name] = postDir(t, filepath.Join(w.root, "disks", strings.TrimSuffix(k.Name, ".key")), k.Public, nil)
	}
	w.postDirs["nodeB.key"] = postDir(t, filepath.Join(w.root, "disks", "b-data"), w.b[0].Public, nil)
	return w
}

// toPlans walks steps 1 to 4: folders, the checklist (red while the node's
// listener answers, green once it is closed), the local.key rename.
func (w *wizardWorld) toPlans(t *testing.T, m *Model, c *clock) {
	t.Helper()
	press(m, "M")
	mustContain(t, screen(m), "step 1 of 8: folders", "Source 1 (old node)", "Target (this node)", w.data)
	typeText(m, filepath.Join(w.root, "nod"))
	settle(t, m, press(m, "tab"), nil)
	mustContain(t, screen(m), "nodeA/  nodeB/", "node_data/")
	typeText(m, "A")
	m.Update(tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl})
	typeText(m, filepath.Join(w.root, "nodeB"))

	// 2: the node answers at its listener: red, and enter does not go on.
	settle(t, m, press(m, "enter"), shows(m, "step 2 of 8", "✗ the configured node is running"))
	mustContain(t, screen(m), "answers at "+w.ln.Addr().String(), "✓ no process has a local.sql", "✓ no unfinished writes",
		"✓ every node ran go-spacemesh 1.4 or newer", "nodeA: schema 9 (go-spacemesh v1.7)", "✓ backups will be made", "waiting until every check is ticked")
	press(m, "enter")
	if m.flow.(*wizard).step != 2 {
		t.Fatal("went on with a red checklist")
	}
	// The node stops: the list turns green by itself.
	w.ln.Close()
	settle(t, m, nil, nil)
	settle(t, m, m.flowAfter(0, wizRecheckMsg{}), shows(m, "✓ the configured node is stopped"))
	mustContain(t, screen(m), "every check is ticked: press enter")

	// 3: nodeB's local.key, renamed to nodeB.key.
	press(m, "enter")
	mustContain(t, screen(m), "step 3 of 8", filepath.Join(w.root, "nodeB")+"/identities/local.key →", "nodeB.key")
	settle(t, m, press(m, "enter"), shows(m, "no local.key in the sources or the target"))
	mustContain(t, screen(m), "✓ renamed "+filepath.Join(w.root, "nodeB", "identities", "local.key")+" to nodeB.key")
	if got := keyFiles(t, filepath.Join(w.root, "nodeB")); !slices.Equal(got, []string{"nodeB.key"}) {
		t.Fatalf("nodeB identities after the rename: %v", got)
	}

	// 4: both plans.
	settle(t, m, press(m, "enter"), shows(m, "step 4 of 8", "2/2"))
	mustContain(t, screen(m), "keys to copy into identities/: 2", "a0.key", "> Back <", "[ Continue ]")
	c.advance(dialogGrace)
}

// TestWizardEndToEnd walks the wizard over two sources into a target.
func TestWizardEndToEnd(t *testing.T) {
	w := newWizardWorld(t)
	m, c := newFlowTest(t, w.world)
	w.toPlans(t, m, c)
	// Back to step 3: the rename is remembered, then the plans again.
	press(m, "esc")
	mustContain(t, screen(m), "step 3 of 8", "no local.key in the sources or the target", "✓ renamed")
	settle(t, m, press(m, "enter"), shows(m, "step 4 of 8", "2/2"))
	c.advance(dialogGrace)
	// Scroll to see the second plan.
	press(m, "pgdown", "pgdown")
	mustContain(t, screen(m), "nodeB.key")
	press(m, "tab", "tab")
	mustContain(t, screen(m), "> Continue <")

	// 5: typed confirmation.
	press(m, "enter")
	mustContain(t, screen(m), "step 5 of 8", "Type node_data and press enter")
	typeText(m, "nodeA")
	press(m, "enter")
	mustContain(t, screen(m), "that is not node_data")
	m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	typeText(m, "node_data")

	// 6: the merges, one after another.
	settle(t, m, press(m, "enter"), shows(m, "all 2 merge(s) done"))
	mustContain(t, screen(m), "1/2", "2/2", "merged in", "(a0.key, a1.key)", "(nodeB.key)", "backup of the target before it: "+filepath.Join(w.data, "backup-"))
	if n := rowCount(t, w.data, "post"); n != 4 {
		t.Errorf("target has %d post rows, want 4", n)
	}
	if got := keyFiles(t, w.data); !slices.Equal(got, []string{"a0.key", "a1.key", "nodeB.key", "t0.key"}) {
		t.Errorf("target identities: %v", got)
	}

	// 7: a service per identity; a folder of another identity is refused.
	c.advance(dialogGrace)
	settle(t, m, press(m, "enter"), shows(m, "step 7 of 8", "PoST data of a0.key"))
	typeText(m, w.postDirs["a1.key"])
	settle(t, m, press(m, "enter"), shows(m, "belongs to identity"))
	m.Update(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	typeText(m, w.postDirs["a0.key"])
	settle(t, m, press(m, "enter"), shows(m, "PoST data of a1.key"))
	mustContain(t, screen(m), `added [[service]] "a0"`)
	typeText(m, w.postDirs["a1.key"])
	settle(t, m, press(m, "enter"), shows(m, "PoST data of nodeB.key"))
	typeText(m, filepath.Dir(w.postDirs["nodeB.key"])+"/b-")
	settle(t, m, press(m, "tab"), nil)
	settle(t, m, press(m, "enter"), shows(m, "Press enter to go on"))
	cfg, err := config.Load(w.cfgPath)
	if err != nil || len(cfg.Services) != 3 {
		t.Fatalf("config: %v %v", cfg, err)
	}
	for i, name := range []string{"a0", "a1", "nodeB"} {
		if s := cfg.Services[i]; s.Name != name || s.Operator == "" {
			t.Errorf("service %d: %+v", i, s)
		}
	}

	// 8: verification from snapshots, and the reminders.
	press(m, "enter")
	v := screen(m)
	mustContain(t, v, "step 8 of 8", "restart the node", "smeshing-coinbase must be set", `"smeshing": {"smeshing-start": false}`)
	down := snapshotOf()
	down.Node.HasSmesherIDs, down.Node.HasPostStates = false, false
	m.Update(SnapshotMsg{down})
	mustContain(t, screen(m), "the node does not answer (yet)", "a0.key: waiting for the node to report it")
	m.Update(SnapshotMsg{nodeWith(w.keys[0].Public, w.a[0].Public)})
	mustContain(t, screen(m), "✓ a0.key: the node has loaded", "a1.key: the node does not report")
	m.Update(SnapshotMsg{nodeWith(w.keys[0].Public, w.a[0].Public, w.a[1].Public, w.b[0].Public)})
	mustContain(t, screen(m), "the node reports all 3 merged identities")
	c.advance(dialogGrace)
	press(m, "enter")
	if m.flow != nil {
		t.Fatal("Finish did not close the wizard")
	}
	r := m.MigrationReport()
	for _, s := range []string{"renamed", "merged " + filepath.Join(w.root, "nodeA"), "merged " + filepath.Join(w.root, "nodeB"), `added [[service]] "nodeB"`} {
		if !strings.Contains(r, s) {
			t.Errorf("report lacks %q:\n%s", s, r)
		}
	}
	if strings.Contains(r, "Not done") {
		t.Errorf("report says something is not done:\n%s", r)
	}
}

// TestWizardStopsAtFailure: the second source gets unfinished writes after
// its plan was confirmed: the first merge completes, the second changes
// nothing, and the wizard stops there saying so.
func TestWizardStopsAtFailure(t *testing.T) {
	w := newWizardWorld(t)
	m, c := newFlowTest(t, w.world)
	w.toPlans(t, m, c)
	press(m, "tab", "tab", "enter")
	typeText(m, "node_data")
	if err := os.WriteFile(filepath.Join(w.root, "nodeB", "local.sql-wal"), []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	settle(t, m, press(m, "enter"), shows(m, "the wizard stopped"))
	v := screen(m)
	mustContain(t, v, "merge failed", "unfinished writes", "the target is intact: nothing was changed", "the 1 merge(s) before it are complete", "> Leave the wizard <")
	if got := keyFiles(t, w.data); !slices.Equal(got, []string{"a0.key", "a1.key", "t0.key"}) {
		t.Errorf("target identities: %v", got)
	}
	if n := rowCount(t, w.data, "post"); n != 3 {
		t.Errorf("target has %d post rows, want 3 (itself and nodeA)", n)
	}
	// ctrl+c, once something was changed, first says what was and was not done.
	m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	mustContain(t, screen(m), "Leave the migration wizard?", "merged "+filepath.Join(w.root, "nodeA"), "not merged: "+filepath.Join(w.root, "nodeB"), "> Stay <")
	c.advance(dialogGrace)
	// Stay goes back to the step; esc asks again, and an enter typed ahead
	// of the question is dropped by the grace.
	press(m, "enter")
	mustContain(t, screen(m), "the wizard stopped", "> Leave the wizard <")
	c.advance(dialogGrace)
	press(m, "esc", "enter")
	mustContain(t, screen(m), "Leave the migration wizard?", "> Stay <")
	c.advance(dialogGrace)
	settle(t, m, press(m, "tab", "enter"), nil) // Leave tells the wizard in a Cmd
	if m.flow != nil {
		t.Fatal("Leave did not close the wizard")
	}
	mustContain(t, m.MigrationReport(), "Not done", "not merged: "+filepath.Join(w.root, "nodeB"))
}

// TestWizardEscGoesBack: esc steps back while nothing was changed, and
// leaves from step 1.
func TestWizardEscGoesBack(t *testing.T) {
	w := newWizardWorld(t)
	w.ln.Close()
	m, _ := newFlowTest(t, w.world)
	press(m, "M")
	typeText(m, filepath.Join(w.root, "nodeA"))
	settle(t, m, press(m, "enter"), shows(m, "every check is ticked"))
	press(m, "esc")
	mustContain(t, screen(m), "step 1 of 8", filepath.Join(w.root, "nodeA"))
	press(m, "esc")
	if m.flow != nil {
		t.Fatal("esc on step 1 did not leave")
	}
	mustContain(t, m.MigrationReport(), "nothing was changed")
}

// TestWizardRefusesClashingSources: two sources that each merge cleanly
// alone but hold one key file name and identity: step 4 refuses them.
func TestWizardRefusesClashingSources(t *testing.T) {
	w := newWizardWorld(t)
	w.ln.Close()
	w.node(t, "twin", "a", 1)
	m, c := newFlowTest(t, w.world)
	press(m, "M")
	typeText(m, filepath.Join(w.root, "nodeA"))
	m.Update(tea.KeyPressMsg{Code: 'n', Mod: tea.ModCtrl})
	typeText(m, filepath.Join(w.root, "twin"))
	settle(t, m, press(m, "enter"), shows(m, "every check is ticked"))
	press(m, "enter")
	mustContain(t, screen(m), "step 3 of 8", "nothing to rename")
	settle(t, m, press(m, "enter"), shows(m, "step 4 of 8", "2/2"))
	c.advance(dialogGrace)
	press(m, "pgdown", "pgdown", "pgdown")
	mustContain(t, screen(m), "both have identities/a0.key", "is in "+filepath.Join(w.root, "nodeA")+" and in", "refused: fix the problems above",
		"Continue (refused: see the problems)")
	// Continue cannot be focused: tab goes past it, back to Back.
	press(m, "tab", "tab")
	mustContain(t, screen(m), "> Back <")
}
