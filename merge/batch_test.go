package merge

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"postdeck/merge/mergetest"
)

// CheckFolders refuses what the wizard's first step refuses, and drops
// empty and repeated sources.
func TestCheckFoldersRefusesBeforeReading(t *testing.T) {
	for _, c := range []struct {
		sources []string
		to      string
		want    []string
		err     string
	}{
		{[]string{"", ""}, "/t", nil, "give at least one old node's data folder"},
		{[]string{"/a"}, "", nil, "give the target"},
		{[]string{"/a", "/t"}, "/t", nil, "the target is also a source: /t"},
		{[]string{"/a", "", "/b", "/a"}, "/t", []string{"/a", "/b"}, ""},
	} {
		got, err := CheckFolders(c.sources, c.to)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("CheckFolders(%q, %q) = %v, want an error with %q", c.sources, c.to, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("CheckFolders(%q, %q) = %q, %v, want %q", c.sources, c.to, got, err, c.want)
		}
	}
}

// batchWorld: a target (t0) and sources built under one root.
type batchWorld struct{ root, to string }

func newBatchWorld(t *testing.T) batchWorld {
	w := batchWorld{root: t.TempDir()}
	w.to = filepath.Join(w.root, "node")
	build(t, w.to, mergetest.Options{Version: 9, IDs: 1, Prefix: "t"})
	return w
}

func (w batchWorld) source(t *testing.T, name, prefix string, ids int) string {
	dir := filepath.Join(w.root, name)
	build(t, dir, mergetest.Options{Version: 9, IDs: ids, Prefix: prefix})
	return dir
}

func mustBatch(t *testing.T, to string, sources ...string) *Batch {
	t.Helper()
	b, err := PlanBatch(context.Background(), sources, to, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Two sources that each merge cleanly alone are refused together when they
// hold the same key file name, or the same identity.
func TestBatchRefusesSourcesThatClash(t *testing.T) {
	w := newBatchWorld(t)
	a := w.source(t, "a", "a", 2)
	twin := w.source(t, "twin", "a", 1) // a0.key again: same name, same identity
	c := w.source(t, "c", "c", 1)
	if err := os.Rename(filepath.Join(c, "identities", "c0.key"), filepath.Join(c, "identities", "a1.key")); err != nil {
		t.Fatal(err)
	}
	if b := mustBatch(t, w.to, a, w.source(t, "d", "d", 1)); !b.OK() || b.Problems() != 0 {
		t.Fatalf("two distinct sources refused: %+v", b.Cross)
	}
	b := mustBatch(t, w.to, a, twin, c)
	for _, p := range b.Plans {
		if !p.OK() {
			t.Fatalf("%s alone has problems: %v", p.From, p.Problems)
		}
	}
	if b.OK() {
		t.Fatal("a batch with clashing sources is OK")
	}
	want := []string{
		a + " and " + twin + " both have identities/a0.key",
		"identity " + hex.EncodeToString(mergetest.KeyFor("a", 0).Public)[:12] + "… is in " + a + " and in " + twin,
		a + " and " + c + " both have identities/a1.key",
	}
	if len(b.Cross) != len(want) || b.Problems() != len(want) {
		t.Fatalf("cross problems: %v, want %d", b.Cross, len(want))
	}
	for i, s := range want {
		if b.Cross[i].Kind != KindCrossSource || !strings.Contains(b.Cross[i].Message, s) {
			t.Errorf("cross problem %d = %+v, want %q", i, b.Cross[i], s)
		}
	}
}

// Replan before each merge: the target's counts may have grown by the
// merges before, but the source must copy what was confirmed.
func TestBatchReplanRefusesAChangedSource(t *testing.T) {
	w := newBatchWorld(t)
	a, b := w.source(t, "a", "a", 1), w.source(t, "b", "b", 1)
	batch := mustBatch(t, w.to, a, b)
	for i := range batch.Plans {
		p, err := batch.Replan(context.Background(), i)
		if err != nil {
			t.Fatalf("replan %d: %v", i, err)
		}
		if _, err := Execute(context.Background(), p, nil); err != nil {
			t.Fatalf("merge %d: %v", i, err)
		}
	}
	// A new key in a confirmed source: refused, saying so.
	c := w.source(t, "c", "c", 1)
	batch = mustBatch(t, w.to, c)
	k := mergetest.KeyFor("c", 9)
	if err := os.WriteFile(filepath.Join(c, "identities", k.Name), []byte(hex.EncodeToString(k.Private)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := batch.Replan(context.Background(), 0)
	var changed *ChangedError
	if !errors.As(err, &changed) || changed.From != c || errors.Is(err, ErrRefused) {
		t.Fatalf("replan after a key was added: %v", err)
	}
	// Unfinished writes: a refusal with the fresh plan's problems.
	if err := os.WriteFile(filepath.Join(c, DBName+"-wal"), []byte("frames"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := batch.Replan(context.Background(), 0)
	if !errors.Is(err, ErrRefused) || p == nil || !p.Has(KindWAL) {
		t.Fatalf("replan with unfinished writes: %v, %v", p, err)
	}
}

// LocalKeys finds local.key; RenameLocalKey renames it, never over a file,
// and refuses names the node would not read.
func TestRenameLocalKey(t *testing.T) {
	w := newBatchWorld(t)
	a := w.source(t, "a", "a", 2)
	ids := filepath.Join(a, "identities")
	if err := os.Rename(filepath.Join(ids, "a0.key"), filepath.Join(ids, "local.key")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if got, err := LocalKeys(ctx, []string{w.to, a}); err != nil || !slices.Equal(got, []string{a}) {
		t.Fatalf("LocalKeys = %v, %v", got, err)
	}
	for name, refusal := range map[string]string{
		"local.key": "choose a name other than local.key",
		"a1.key":    "already exists: choose another name",
		"a0":        "the node reads only files ending in .key",
	} {
		if _, err := RenameLocalKey(ctx, a, name); err == nil || !strings.Contains(err.Error(), refusal) {
			t.Errorf("rename to %q: %v, want %q", name, err, refusal)
		}
	}
	msg, err := RenameLocalKey(ctx, a, "a0.key")
	if err != nil || msg != "renamed "+filepath.Join(ids, "local.key")+" to a0.key" {
		t.Fatalf("rename: %q, %v", msg, err)
	}
	if got, _ := LocalKeys(ctx, []string{w.to, a}); len(got) != 0 {
		t.Fatalf("local.key still found in %v", got)
	}
}

// within stops waiting at the context's end: a hung call holds no caller.
func TestWithinStopsWaitingAtTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	hung := make(chan struct{})
	defer close(hung)
	if _, err := within(ctx, func() int { <-hung; return 1 }); !errors.Is(err, context.Canceled) {
		t.Fatalf("within = %v, want context.Canceled", err)
	}
}

// StoppedAt says which merges a failure leaves complete and which not run.
func TestBatchStoppedAt(t *testing.T) {
	b := &Batch{Sources: []string{"/a", "/b", "/c"}}
	for i, want := range []string{
		"; not run: /b, /c",
		"; the 1 merge(s) before it are complete; not run: /c",
		"; the 2 merge(s) before it are complete",
	} {
		if got := b.StoppedAt(i); got != want {
			t.Errorf("StoppedAt(%d) = %q, want %q", i, got, want)
		}
	}
}
