package mergecmd

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
	"postdeck/merge/mergetest"
)

// A merge from an old node whose key node3 also has in its identities/
// (not loaded) is refused, with the typed override it goes, audited.
// node1 is stopped: postdeck merge probes the first node's listeners.
func TestMergeRefusesAKeyAnotherNodeHolds(t *testing.T) {
	f, cfg := cmdtest.StartFleet(t, nil)
	if err := f.Sims[0].StopNode(); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	from, to := filepath.Join(root, "old"), filepath.Join(root, "merged")
	keys, err := mergetest.Build(from, mergetest.Options{Version: 9, IDs: 2, Prefix: "old"})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(from, "identities", keys[1].Name))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.Sims[2].Layout().DataFolder, "identities", "spare.key"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	prefix := hex.EncodeToString(keys[1].Public)[:8]
	state := t.TempDir()
	env := []string{"XDG_STATE_HOME=" + state}
	logPath := filepath.Join(state, "postdeck", "audit.log")

	out, errOut, code := cmdtest.PostdeckEnv(t, env, "merge", "--from", from, "--to", to, "--yes", "--config", cfg)
	for _, want := range []string{"old1.key: identity " + hex.EncodeToString(keys[1].Public)[:12] + "… is already held by node3 (key file identities/spare.key)",
		"equivocation", "--place-anyway " + prefix, "note: node1 did not answer"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	if code == 0 || !strings.Contains(errOut, "merge refused") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(to); !os.IsNotExist(err) {
		t.Fatalf("a refused merge made %s: %v", to, err)
	}

	// A mistyped override is refused; nothing is written or audited.
	_, errOut, code = cmdtest.PostdeckEnv(t, env, "merge", "--from", from, "--to", to, "--yes", "--place-anyway", "0badc0de", "--config", cfg)
	if code == 0 || !strings.Contains(errOut, "--place-anyway 0badc0de is not the first 8 hex characters") {
		t.Fatalf("mistyped override: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(logPath); !os.IsNotExist(err) {
		t.Fatalf("a refused merge wrote the audit log: %v", err)
	}

	out, errOut, code = cmdtest.PostdeckEnv(t, env, "merge", "--from", from, "--to", to, "--yes", "--place-anyway", prefix, "--config", cfg)
	if code != 0 || !strings.Contains(out, "old1.key is placed anyway") {
		t.Fatalf("override: exit %d:\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(to, "identities", keys[1].Name)); err != nil {
		t.Fatalf("not merged: %v", err)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Action, Identity, Node string
		Holders                []string
	}
	if err := json.Unmarshal(data, &e); err != nil || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("audit log %q: %v", data, err)
	}
	if e.Action != "merge-override" || e.Identity != keys[1].Name+" "+hex.EncodeToString(keys[1].Public) || e.Node != "" ||
		len(e.Holders) != 1 || e.Holders[0] != "node3: key file identities/spare.key" {
		t.Errorf("audit entry %+v", e)
	}
}
