package keys

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/config"
	"postdeck/cmd/cmdtest"
	"postdeck/cmd/simcmd"
	"postdeck/model"
)

// heldPostDir is a PoST data directory as postcli leaves it for the key
// that node1's second service proves for: node1 lists it and has its key
// file; no other node has it.
func heldPostDir(t *testing.T, f *simcmd.Fleet) (dir string, pub []byte) {
	t.Helper()
	svc := f.Sims[0].Layout().Services[1]
	dir = filepath.Join(t.TempDir(), "moved")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	meta, err := os.ReadFile(filepath.Join(svc.Dir, model.MetadataFile))
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(svc.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, model.MetadataFile), meta, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "identity.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, svc.NodeID
}

// auditLines is the state folder's audit log, line by line.
func auditLines(t *testing.T, state string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(state, "postdeck", "audit.log"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("audit line %q: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func keyFilesOf(t *testing.T, f *simcmd.Fleet, node int) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(f.Sims[node].Layout().DataFolder, "identities"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestKeysAddRefusesAKeyAnotherNodeHolds(t *testing.T) {
	f, cfg := cmdtest.StartFleet(t, nil)
	dir, pub := heldPostDir(t, f)
	prefix := hex.EncodeToString(pub)[:8]
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	before := keyFilesOf(t, f, 2)

	_, errOut, code := cmdtest.PostdeckEnv(t, env, "keys", "add", dir, "--node", "node3", "--yes", "--config", cfg)
	keyName := filepath.Base(f.Sims[0].Layout().Services[1].KeyFile)
	for _, want := range []string{"held by node1 (listed by the node, key file identities/" + keyName + ")", "on node3 too",
		"equivocation", "banned for good", "Nothing was written", "--place-anyway " + prefix} {
		if !strings.Contains(errOut, want) {
			t.Errorf("refusal lacks %q:\n%s", want, errOut)
		}
	}
	if code == 0 || len(keyFilesOf(t, f, 2)) != len(before) || auditLines(t, state) != nil {
		t.Fatalf("exit %d, node3's keys %v (before %v): not refused", code, keyFilesOf(t, f, 2), before)
	}

	// A wrong override is refused the same way.
	_, errOut, code = cmdtest.PostdeckEnv(t, env, "keys", "add", dir, "--node", "node3", "--yes", "--place-anyway", "00000000", "--config", cfg)
	if code == 0 || !strings.Contains(errOut, "--place-anyway 00000000 is not this identity's first 8 hex characters") || len(keyFilesOf(t, f, 2)) != len(before) {
		t.Fatalf("wrong override: exit %d:\n%s", code, errOut)
	}

	// The typed prefix places it, and the audit log says who held it.
	out, errOut, code := cmdtest.PostdeckEnv(t, env, "keys", "add", dir, "--node", "node3", "--yes", "--place-anyway", strings.ToUpper(prefix), "--config", cfg)
	if code != 0 || !strings.Contains(out, "Placing it anyway") {
		t.Fatalf("override: exit %d:\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(f.Sims[2].Layout().DataFolder, "identities", "moved.key")); err != nil {
		t.Fatalf("key not added to node3: %v", err)
	}
	lines := auditLines(t, state)
	if len(lines) != 1 {
		t.Fatalf("audit lines %v", lines)
	}
	e := lines[0]
	holders, _ := json.Marshal(e["holders"])
	if e["action"] != "keys-add-override" || e["node"] != "node3" || e["identity"] != "moved.key "+hex.EncodeToString(pub) ||
		!strings.Contains(string(holders), "node1: listed by the node") {
		t.Errorf("audit line %v", e)
	}
}

// A node that is down has its key files compared all the same (a note
// says the rest was not); one of which nothing can be read refuses.
func TestKeysAddWithANodeDown(t *testing.T) {
	f, cfg := cmdtest.StartFleet(t, nil)
	if err := f.Sims[1].StopNode(); err != nil {
		t.Fatal(err)
	}
	dir, _, _ := keysPostDir(t, "fresh", 41)
	out, errOut, code := cmdtest.Postdeck(t, "keys", "add", dir, "--node", "node3", "--yes", "--config", cfg)
	if code != 0 || !strings.Contains(errOut, "node2 did not answer") || !strings.Contains(errOut, "the identities it runs were not compared, only its key files") {
		t.Fatalf("exit %d:\n%s\n%s", code, out, errOut)
	}

	// node2's folder unreadable too: nothing of it is compared.
	notDir := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f2, cfg2 := cmdtest.StartFleet(t, func(c *config.Config) { c.MoreNodes[0].DataFolder = notDir })
	if err := f2.Sims[1].StopNode(); err != nil {
		t.Fatal(err)
	}
	dir, _, _ = keysPostDir(t, "fresh2", 51)
	_, errOut, code = cmdtest.Postdeck(t, "keys", "add", dir, "--yes", "--config", cfg2)
	if code == 0 || !strings.Contains(errOut, "node2 did not answer") || !strings.Contains(errOut, "its keys were not compared") {
		t.Fatalf("a node not compared at all: exit %d:\n%s", code, errOut)
	}
}
