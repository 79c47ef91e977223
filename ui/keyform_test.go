package ui

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postdeck/backend/config"
	"postdeck/backend/identities"
	"postdeck/backend/testkit"
	"postdeck/merge/mergetest"
	"postdeck/themes"
)

// TestAddKeyFlow walks k end to end: completion, the plan with Cancel
// focused and keys swallowed, the key written, the [[service]] appended,
// and the confirmation once a snapshot lists the key.
func TestAddKeyFlow(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	k := mergetest.KeyFor("post", 3)
	pd := postDir(t, filepath.Join(w.root, "disks", "data3"), k.Public, k.Private)
	os.Mkdir(filepath.Join(w.root, "disks", "data4"), 0o700)
	m, c := newFlowTest(t, w)

	press(m, "i")
	mustContain(t, screen(m), "Add an identity key", "PoST data directory", "Move identity.key", "[ ]")

	// Tab completes folders: ambiguous first, then unique.
	typeText(m, filepath.Join(w.root, "di"))
	settle(t, m, press(m, "tab"), nil) // the folder is read in a Cmd
	mustContain(t, screen(m), filepath.Join(w.root, "disks")+"/")
	typeText(m, "d")
	settle(t, m, press(m, "tab"), nil)
	mustContain(t, screen(m), "data3/  data4/")
	typeText(m, "3")
	settle(t, m, press(m, "tab"), nil)
	if got := m.flow.(*keyFlow).form.fields[0].in.value(); got != pd+"/" {
		t.Fatalf("completed to %q, want %q", got, pd+"/")
	}

	// The plan in full, Cancel focused; keys in the first 400 ms do nothing.
	settle(t, m, press(m, "enter"), shows(m, "Will:"))
	v := screen(m)
	mustContain(t, v, "Adding identity "+hex.EncodeToString(k.Public), filepath.Join(w.data, "identities", "data3.key"),
		"128 lower-case hex characters, no newline,", "identity.key has whitespace or a newline", "warning: restart the node to load the key",
		"> Cancel <", "[ Add key ]")
	press(m, "tab", "enter")
	mustContain(t, screen(m), "> Cancel <")
	target := filepath.Join(w.data, "identities", "data3.key")
	if _, err := os.Stat(target); err == nil {
		t.Fatal("key written during the grace period")
	}
	// Cancel goes back to the form with nothing written.
	c.advance(dialogGrace)
	press(m, "enter")
	mustContain(t, screen(m), "PoST data directory")
	if _, err := os.Stat(target); err == nil {
		t.Fatal("Cancel wrote the key")
	}

	// Again, and Add key: the file has exactly the key's bytes.
	settle(t, m, press(m, "enter"), shows(m, "Will:"))
	c.advance(dialogGrace)
	press(m, "tab")
	mustContain(t, screen(m), "> Add key <")
	settle(t, m, press(m, "enter"), shows(m, "Add a [[service]]"))
	b, err := os.ReadFile(target)
	if err != nil || string(b) != hex.EncodeToString(k.Private) {
		t.Fatalf("key file %q (%v), want the 128 hex characters without newline", b, err)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	// The snippet first, Skip focused.
	v = screen(m)
	mustContain(t, v, "added "+target, "kept the original", "[[service]]", `name = "data3"`, `dir = "`+pd+`"`, "> Skip <", "[ Add service ]")
	c.advance(dialogGrace)
	press(m, "tab")
	settle(t, m, press(m, "enter"), shows(m, "added [[service]]"))
	cfg, err := config.Load(w.cfgPath)
	if err != nil || len(cfg.Services) != 1 || cfg.Services[0].Dir != pd || cfg.Services[0].Name != "data3" {
		t.Fatalf("config after append: %+v %v", cfg, err)
	}
	if raw, _ := os.ReadFile(w.cfgPath); !strings.HasPrefix(string(raw), "# my node\n[node]") {
		t.Errorf("config not kept byte for byte:\n%s", raw)
	}

	// The restart reminder, then the confirmation from a new snapshot.
	mustContain(t, screen(m), identities.RestartReminder, "waiting for the node to report data3.key")
	m.Update(SnapshotMsg{nodeWith(w.keys[0].Public)})
	mustContain(t, screen(m), "the node does not report")
	m.Update(SnapshotMsg{nodeWith(w.keys[0].Public, k.Public)})
	mustContain(t, screen(m), "✓ the node now reports data3.key")
	press(m, "esc")
	if m.flow != nil {
		t.Fatal("esc did not close the flow")
	}
	mustContain(t, screen(m), "NAME")
}

// TestAddKeyRefusalShowsReason: a key that does not match its PoST data is
// refused on the form, with the reason, and nothing is written.
func TestAddKeyRefusalShowsReason(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	k, other := mergetest.KeyFor("post", 1), mergetest.KeyFor("post", 2)
	pd := postDir(t, filepath.Join(w.root, "data9"), other.Public, k.Private)
	m, _ := newFlowTest(t, w)
	press(m, "i")
	typeText(m, pd)
	settle(t, m, press(m, "enter"), shows(m, "not added"))
	mustContain(t, screen(m), "✗ not added:", "belongs to", "PoST data directory")
	if _, err := os.Stat(filepath.Join(w.data, "identities", "data9.key")); err == nil {
		t.Fatal("a refused key was written")
	}
	// A watched key from a closed flow is still confirmed in the footer.
	press(m, "esc")
	m.watches = append(m.watches, keyWatch{name: "x.key", public: k.Public})
	m.Update(SnapshotMsg{nodeWith(k.Public)})
	mustContain(t, screen(m), "✓ the node now reports x.key")
}

func TestFlowKeysNeedConfig(t *testing.T) {
	s := demo()
	m, _, _ := newActionTest(t, 120, 30, &s)
	for _, k := range []string{"i", "m", "M"} {
		press(m, k)
		if m.flow != nil {
			t.Fatalf("%s opened a flow without a config", k)
		}
		mustContain(t, screen(m), "needs a config file")
	}
}

// TestReadOnlyHidesFlowKeys: without Actions, i, m and M open nothing and
// are not in the help; k moves up.
func TestReadOnlyHidesFlowKeys(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	m := New(Options{Theme: themes.Dark(), Config: w.cfg, Now: func() time.Time { return testNow }})
	m.Update(sizeMsg(120, 40))
	s := many(5)
	m.Update(SnapshotMsg{s})
	press(m, "j", "j", "k")
	mustContain(t, selectedLine(t, m), "post0001.key")
	for _, k := range []string{"i", "m", "M"} {
		if press(m, k); m.flow != nil {
			t.Fatalf("%s acted in read-only mode", k)
		}
	}
	press(m, "?")
	v := screen(m)
	mustContain(t, flat(v), "↑/k", "Off in this session", "i m M ctrl+r l (not in a read-only session)")
	body := v[:strings.LastIndex(v, "\n")] // the footer still says why M did nothing
	mustNotContain(t, body, "add identity key", "merge nodes", "migration wizard")

	// With actions they are listed.
	m2, _ := newFlowTest(t, w)
	press(m2, "?")
	mustContain(t, screen(m2), "i add identity key…", "m merge nodes…", "M migration wizard…")
}

// With every flow on (a local dashboard), k still moves up and opens
// nothing: adding a key is i, so k means the same locally and over SSH.
func TestKMovesUpWhereAddKeyIsOn(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	m, _ := newFlowTest(t, w)
	m.Update(SnapshotMsg{many(5)})
	press(m, "j", "j", "k")
	if m.flow != nil {
		t.Fatal("k opened a flow")
	}
	mustContain(t, selectedLine(t, m), "post0001.key")
	press(m, "?")
	mustContain(t, screen(m), "↑/k", "i add identity key…")
	press(m, "esc", "i")
	if _, ok := m.flow.(*keyFlow); !ok {
		t.Fatalf("i opened %T, not the add-key form", m.flow)
	}
}
