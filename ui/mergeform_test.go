package ui

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postdeck/backend/testkit"
	"postdeck/merge"
	"postdeck/themes"
)

// rowCount counts a table's rows in a node data folder's local.sql.
func rowCount(t *testing.T, dir, table string) int {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "local.sql")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// keyFiles lists a node data folder's identities/.
func keyFiles(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, "identities"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestMergeFlow walks m: a plan with problems cannot go on; a good plan,
// the typed confirmation, the progress, the summary, the files merged.
func TestMergeFlow(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 2)
	w.node(t, "old", "s", 3)
	bad := w.node(t, "supervised", "x", 1)
	ids := filepath.Join(w.root, "supervised", "identities")
	if err := os.Rename(filepath.Join(ids, bad[0].Name), filepath.Join(ids, "local.key")); err != nil {
		t.Fatal(err)
	}
	m, c := newFlowTest(t, w)

	press(m, "m")
	mustContain(t, screen(m), "Merge another node", "From (old node's data folder)", w.data)

	// A refused plan: its reason shown, Merge… disabled, no way past it.
	typeText(m, filepath.Join(w.root, "supervised"))
	settle(t, m, press(m, "enter"), shows(m, "Refused"))
	v := screen(m)
	mustContain(t, v, "local.key", "[ Merge… (refused: see the problems) ]", "> Cancel <")
	c.advance(dialogGrace)
	for range 5 {
		press(m, "tab")
		if strings.Contains(screen(m), "> Merge… <") {
			t.Fatal("focus reached the disabled Merge button")
		}
	}
	press(m, "esc")
	mustContain(t, screen(m), "From (old node's data folder)")

	// The good plan.
	f := m.flow.(*mergeFlow)
	f.form.fields[0].in.set(filepath.Join(w.root, "old"))
	settle(t, m, press(m, "enter"), shows(m, "keys to copy"))
	v = screen(m)
	mustContain(t, v, "Merge plan: "+filepath.Join(w.root, "old")+" -> "+w.data, "keys to copy into identities/: 3", "s0.key",
		"post", "challenge", "poet_registration", "nipost", "backed up", "> Cancel <", "[ Merge… ]")
	mustNotContain(t, v, "Refused")
	c.advance(dialogGrace)
	press(m, "tab", "tab")
	mustContain(t, screen(m), "> Merge… <")
	press(m, "enter")
	mustContain(t, screen(m), "Type node_data and press enter")
	typeText(m, "node")
	press(m, "enter")
	mustContain(t, screen(m), "that is not node_data; nothing was changed")
	if n := rowCount(t, w.data, "post"); n != 2 {
		t.Fatalf("a wrong confirmation merged: %d rows", n)
	}
	typeText(m, "_data")
	settle(t, m, press(m, "enter"), shows(m, "Merged "))
	v = screen(m)
	mustContain(t, v, "[1/7] backup", "copy rows", "verify", "3 key(s) added", "as before the merge:", filepath.Join(w.data, "backup-"), "> Close <")
	if n := rowCount(t, w.data, "post"); n != 5 {
		t.Errorf("post has %d rows after the merge, want 5", n)
	}
	got := keyFiles(t, w.data)
	for _, k := range []string{"t0.key", "t1.key", "s0.key", "s1.key", "s2.key"} {
		if !strings.Contains(strings.Join(got, " "), k) {
			t.Errorf("identities/ lacks %s: %v", k, got)
		}
	}
	c.advance(dialogGrace)
	press(m, "enter")
	if m.flow != nil {
		t.Fatal("Close did not close")
	}
}

// TestMergeFailureSaysTargetIntact: a merge refused at run time (the source
// got unfinished writes after the plan was shown) says so, and the target
// is untouched.
func TestMergeFailureSaysTargetIntact(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	w.node(t, "old", "s", 1)
	m, c := newFlowTest(t, w)
	press(m, "m")
	typeText(m, filepath.Join(w.root, "old"))
	settle(t, m, press(m, "enter"), shows(m, "keys to copy"))
	if err := os.WriteFile(filepath.Join(w.root, "old", "local.sql-wal"), []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.advance(dialogGrace)
	press(m, "tab", "tab", "enter")
	typeText(m, "node_data")
	settle(t, m, press(m, "enter"), shows(m, "merge failed"))
	mustContain(t, screen(m), "unfinished writes", "the target is intact: nothing was changed")
	if n := rowCount(t, w.data, "post"); n != 1 {
		t.Errorf("target has %d post rows", n)
	}
	if got := keyFiles(t, w.data); len(got) != 1 {
		t.Errorf("target identities: %v", got)
	}
}

// The plan's notes are muted and its refusal in the danger tone, whatever
// words the lines hold (a key named "note:…" is not a note).
func TestPlanTextTones(t *testing.T) {
	th := themes.Dark()
	st := &th.Styles
	p := &merge.Plan{Options: merge.Options{From: "/a", To: "/b"},
		Keys:     []merge.KeyCopy{{Name: "note:odd.key"}},
		Notes:    []string{"Refused words in a note"},
		Problems: []merge.Problem{{Message: "note: a problem"}}}
	tx := newText(200, &th)
	planText(tx, p)
	want := map[string]string{
		"  note: Refused words in a note":             st.Fg[themes.ToneMuted].Render("  note: Refused words in a note"),
		"Refused: 1 problem(s), nothing was changed:": st.Fg[themes.ToneDanger].Render("Refused: 1 problem(s), nothing was changed:"),
		"  - note: a problem":                         st.Fg[themes.ToneDanger].Render("  - note: a problem"),
		"Merge plan: /a -> /b":                        st.Fg[themes.ToneText].Render("Merge plan: /a -> /b"),
		"    note:odd.key":                            st.Fg[themes.ToneText].Render("    note:odd.key                 …"),
	}
	for plain, styled := range want {
		found := false
		for _, l := range tx.out {
			if l == " "+styled {
				found = true
			}
		}
		if !found {
			t.Errorf("%q is not drawn in its tone; lines:\n%q", plain, tx.out)
		}
	}
}
