package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"postdeck/backend/testkit"
	"postdeck/themes"
)

func TestCompleteDir(t *testing.T) {
	d := t.TempDir()
	for _, n := range []string{"alpha", "alps", "beta", ".hidden", "data3"} {
		if err := os.Mkdir(filepath.Join(d, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "alpine.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(d, "beta"), filepath.Join(d, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(d, "alpine.txt"), filepath.Join(d, "lfile")); err != nil {
		t.Fatal(err)
	}
	p := d + "/"
	for _, c := range []struct {
		in, want string
		matches  []string
	}{
		{p + "al", p + "alp", []string{"alpha", "alps"}}, // common prefix; the file is not offered
		{p + "alph", p + "alpha/", []string{"alpha"}},
		{p + "b", p + "beta/", []string{"beta"}},
		{p + "l", p + "link/", []string{"link"}}, // a symlink to a folder counts, to a file not
		{p + "x", p + "x", nil},
		{p + ".h", p + ".hidden/", []string{".hidden"}},
		{p, p, []string{"alpha", "alps", "beta", "data3", "link"}}, // hidden only when asked for
		{p + "alpha/", p + "alpha/", nil},                          // an empty folder
		{filepath.Join(d, "nope") + "/a", filepath.Join(d, "nope") + "/a", nil},
	} {
		got, matches, _, _ := completeDir(c.in)
		if got != c.want || !slices.Equal(matches, c.matches) {
			t.Errorf("completeDir(%q) = %q %v, want %q %v", c.in, got, matches, c.want, c.matches)
		}
	}
}

func TestCompleteDirRelativeAndHome(t *testing.T) {
	d := t.TempDir()
	if err := os.Mkdir(filepath.Join(d, "node_data"), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(d)
	if got, _, _, _ := completeDir("no"); got != "node_data/" {
		t.Errorf("relative: got %q", got)
	}
	t.Setenv("HOME", d)
	if got, _, _, _ := completeDir("~/no"); got != "~/node_data/" {
		t.Errorf("home: got %q", got)
	}
	if got := resolvePath("~/node_data/"); got != filepath.Join(d, "node_data") {
		t.Errorf("resolvePath: got %q", got)
	}
}

func TestPathInputShowsMatches(t *testing.T) {
	d := t.TempDir()
	for _, n := range []string{"data1", "data2"} {
		os.Mkdir(filepath.Join(d, n), 0o700)
	}
	m := newTest(t, 80, 24, nil)
	p := newPathInput(&m.theme, d+"/da", "")
	p.apply(p.complete()().(completeMsg))
	if p.value() != d+"/data" || len(p.notes(80)) != 1 || p.notes(80)[0] != "data1/  data2/" {
		t.Errorf("value %q notes %q", p.value(), p.notes(80))
	}
	p.set(d + "/zz")
	p.apply(p.complete()().(completeMsg))
	if n := p.notes(200); len(n) != 1 || n[0] != "no folder in "+d+"/ starts with “zz”" {
		t.Errorf("notes %q", n)
	}
	// A completion for text that has changed since is dropped.
	r := p.complete()().(completeMsg)
	p.set(d + "/data1")
	p.apply(r)
	if p.value() != d+"/data1" || p.note != "" {
		t.Errorf("a stale completion was applied: %q %q", p.value(), p.note)
	}
}

// At 80 columns the add-key and merge forms' hints are whole: wrapped at
// words under the entry, not cut at "(tab completes".
func TestFormHintsAreWholeAt80(t *testing.T) {
	w := newWorld(t, testkit.FreeAddr(t), 1)
	for k, hint := range map[string]string{
		"i": "the folder postcli initialized (tab completes)",
		"m": "holds local.sql and identities/ (tab completes)",
	} {
		m, c := newFlowTest(t, w)
		m.Update(sizeMsg(80, 24))
		press(m, k)
		c.advance(dialogGrace)
		v := screen(m)
		if !strings.Contains(flat(v), hint) {
			t.Errorf("%s: the form's hint is not whole at 80 columns:\n%s", k, v)
		}
		assertFits(t, m, 80, 24)
	}
}

// Step 7's hint, at any width its longest word fits in, reads whole over
// its lines, each within the width.
func TestServiceFolderHintWrapsAtWords(t *testing.T) {
	for width := len("completes);") + 2; width <= 80; width++ {
		th := themes.Dark()
		p := newPathInput(&th, "", serviceFolderHint)
		first, more := p.view(width)
		lines := append([]string{strings.TrimSpace(ansi.Strip(first))}, more...)
		if got := strings.Join(lines, " "); strings.Join(strings.Fields(got), " ") != serviceFolderHint {
			t.Fatalf("at %d cells the hint reads %q", width, got)
		}
		for _, l := range lines {
			if cellWidth(l) > width {
				t.Fatalf("at %d cells a hint line is %d wide: %q", width, cellWidth(l), l)
			}
		}
	}
}
