package mergecmd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
	"postdeck/merge/mergetest"
)

// mergeFolders builds an old node (2 identities) and a node (1 identity).
func mergeFolders(t *testing.T) (from, to string) {
	t.Helper()
	root := t.TempDir()
	from, to = filepath.Join(root, "old"), filepath.Join(root, "node")
	for _, n := range []struct {
		dir    string
		ids    int
		prefix string
	}{{from, 2, "old"}, {to, 1, "new"}} {
		if _, err := mergetest.Build(n.dir, mergetest.Options{Version: 9, IDs: n.ids, Prefix: n.prefix}); err != nil {
			t.Fatal(err)
		}
	}
	return from, to
}

// treeHash hashes every file and folder name under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintln(h, path, d.IsDir())
		if !d.IsDir() {
			b, _ := os.ReadFile(path)
			h.Write(b)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func TestMergeDryRunChangesNothing(t *testing.T) {
	from, to := mergeFolders(t)
	before := treeHash(t, from) + treeHash(t, to)
	out, errOut, code := cmdtest.Call(t, Run, "--from", from, "--to", to, "--dry-run")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Merge plan:", "old0.key", "old1.key", "poet_registration", "Dry run: nothing was changed."} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if treeHash(t, from)+treeHash(t, to) != before {
		t.Error("dry run changed the folders")
	}
	// Without --yes and without the typed name, nothing happens either.
	mergeStdin = strings.NewReader("") // no answer: end of input
	out, _, code = cmdtest.Call(t, Run, "--from", from, "--to", to)
	if code != 1 || !strings.Contains(out, "Type the target folder's name (node)") || !strings.Contains(out, "Cancelled: nothing was changed.") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	if treeHash(t, from)+treeHash(t, to) != before {
		t.Error("a cancelled merge changed the folders")
	}
}

func TestMergeYesMerges(t *testing.T) {
	from, to := mergeFolders(t)
	src := treeHash(t, from)
	out, errOut, code := cmdtest.Call(t, Run, "--from", from, "--to", to, "--yes")
	if code != 0 {
		t.Fatalf("exit %d: %s\n%s", code, errOut, out)
	}
	for _, want := range []string{"[1/7] backup", "[7/7] verify", "Merged ", "as before the merge: " + filepath.Join(to, "backup-")} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, k := range []string{"old0.key", "old1.key", "new0.key"} {
		if _, err := os.Stat(filepath.Join(to, "identities", k)); err != nil {
			t.Error(err)
		}
	}
	if treeHash(t, from) != src {
		t.Error("the source changed")
	}
	out, _, code = cmdtest.Call(t, Run, "--recover", "--to", to)
	if code != 0 || !strings.Contains(out, "nothing to recover") {
		t.Errorf("recover: exit %d %s", code, out)
	}
}

func TestMergeRefusalExits1(t *testing.T) {
	from, to := mergeFolders(t)
	os.Rename(filepath.Join(from, "identities", "old0.key"), filepath.Join(from, "identities", "local.key"))
	before := treeHash(t, from) + treeHash(t, to)
	out, errOut, code := cmdtest.Call(t, Run, "--from", from, "--to", to, "--yes")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out, "merging of supervised smeshing nodes is not supported: rename local.key") || !strings.Contains(errOut, "merge refused") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out, errOut)
	}
	if treeHash(t, from)+treeHash(t, to) != before {
		t.Error("a refused merge changed the folders")
	}
}

// With a config, the node's listeners are probed: a running node refuses.
func TestMergeConfigNodeRunning(t *testing.T) {
	from, to := mergeFolders(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg := filepath.Join(t.TempDir(), "postdeck.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[node]\npublic_listener = %q\n", l.Addr().String())), 0o600)
	out, errOut, code := cmdtest.Call(t, Run, "--config", cfg, "--from", from, "--to", to, "--yes")
	if code != 1 || !strings.Contains(out, "a node is running: its gRPC listener "+l.Addr().String()+" answers") {
		t.Errorf("exit %d\n%s\n%s", code, out, errOut)
	}
}

// Several --from: the wizard's refusals (two sources with one key name or
// identity), then the merges one after another into one target.
func TestMergeSeveralSources(t *testing.T) {
	from, to := mergeFolders(t)
	root := filepath.Dir(from)
	second, twin := filepath.Join(root, "second"), filepath.Join(root, "twin")
	for _, n := range []struct{ dir, prefix string }{{second, "second"}, {twin, "old"}} {
		if _, err := mergetest.Build(n.dir, mergetest.Options{Version: 9, IDs: 1, Prefix: n.prefix}); err != nil {
			t.Fatal(err)
		}
	}
	before := treeHash(t, to)
	out, errOut, code := cmdtest.Call(t, Run, "--from", from, "--from", twin, "--to", to, "--yes")
	if code != 1 || !strings.Contains(out, from+" and "+twin+" both have identities/old0.key") ||
		!strings.Contains(out, "is in "+from+" and in "+twin) || !strings.Contains(errOut, "merge refused (2 problem(s) above)") {
		t.Errorf("clashing sources: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := cmdtest.Call(t, Run, "--from", from, "--from", to, "--to", to); code != 1 || !strings.Contains(errOut, "the target is also a source") {
		t.Errorf("target as a source: exit %d: %s", code, errOut)
	}
	out, _, code = cmdtest.Call(t, Run, "--from", from, "--from", second, "--to", to, "--dry-run")
	if code != 0 || !strings.Contains(out, "1/2 Merge plan: "+from) || !strings.Contains(out, "2/2 Merge plan: "+second) || !strings.Contains(out, "Dry run") {
		t.Errorf("dry run: exit %d\n%s", code, out)
	}
	if treeHash(t, to) != before {
		t.Fatal("a refused or dry merge changed the target")
	}
	out, errOut, code = cmdtest.Call(t, Run, "--from", from, "--from", second, "--to", to, "--yes")
	if code != 0 || !strings.Contains(out, "Merging 2/2: "+second) || strings.Count(out, "Merged ") != 2 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	entries, err := os.ReadDir(filepath.Join(to, "identities"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "new0.key old0.key old1.key second0.key" {
		t.Errorf("target identities: %s", got)
	}
}
