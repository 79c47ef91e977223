package demo

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"postdeck/cmd/cmdtest"
)

// The demo names its folder in its title, and that folder holds what
// trying `keys add` and `merge` needs with no node: a PoST folder with a
// key the node does not have, and an old node's data folder. From another
// terminal, as the README says, the key is added (and the dashboard shows
// it, not loaded until the node restarts) and the merge's dry run plans
// the old node's keys and rows.
func TestDemoFlowFoldersInTmux(t *testing.T) {
	tm := cmdtest.NewTerm(t, 200, 30, fmt.Sprintf("env XDG_STATE_HOME=%s %s demo; sleep 60", t.TempDir(), cmdtest.Binary))
	folder := regexp.MustCompile(`demo \(simulated node in (\S+)\)`)
	s := tm.WaitFor("the title with the demo's folder", func(s string) bool {
		return folder.MatchString(s) && len(tableRows(s)) == 12
	})
	root := folder.FindStringSubmatch(s)[1]
	data := filepath.Join(root, "node_data")

	out, errOut, code := cmdtest.Postdeck(t, "keys", "add", filepath.Join(root, "new-post"), "--data-folder", data, "--yes")
	if code != 0 || !strings.Contains(out, "added "+filepath.Join(data, "identities", "new-post.key")) {
		t.Fatalf("keys add of the demo's PoST folder: exit %d\n%s%s", code, out, errOut)
	}
	tm.WaitFor("the added key's row, not loaded", func(s string) bool {
		return regexp.MustCompile(`new-post\.key\s.*key-not-loaded`).MatchString(s)
	})

	out, errOut, code = cmdtest.Postdeck(t, "merge", "--from", filepath.Join(root, "old-node"), "--to", data, "--dry-run")
	if code != 0 || !strings.Contains(out, "Dry run: nothing was changed.") {
		t.Fatalf("merge --dry-run of the demo's old node: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"schema version 9", "old01.key", "old02.key", "post                      2"} {
		if !strings.Contains(out, want) {
			t.Errorf("the merge plan lacks %q:\n%s", want, out)
		}
	}
	tm.Keys("q")
}
