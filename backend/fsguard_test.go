package backend

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/backend/fsguard"
	"postdeck/backend/testkit"
	"postdeck/model"
)

// hangingFile replaces path with a FIFO: opening it blocks until a writer
// comes, as a read from a dead disk or hung mount blocks. Cleanup releases it.
func hangingFile(t *testing.T, path string) {
	t.Helper()
	os.Remove(path)
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Open for writing (non-blocking) to release the stuck reader.
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

func TestPollerSurvivesAHungDisk(t *testing.T) {
	s := testkit.StartSim(t, 3)
	// The operators all answer: a generous timeout, not one they race.
	p, l := simPoller(t, s, 10*time.Second)
	p.recheck = 0 // every cycle looks at every file
	ctx := context.Background()
	p.PollOnce(ctx) // a good read first: its identity is remembered

	hung := l.Services[1]
	hangingFile(t, filepath.Join(hung.Dir, model.MetadataFile))
	hangingFile(t, filepath.Join(l.DataFolder, "identities", filepath.Base(l.Services[2].KeyFile)))
	// The metadata cache re-reads only changed files; the FIFO is new.
	snap := testkit.NoHang(t, "PollOnce with one hung file", func() model.Snapshot { return p.PollOnce(ctx) })
	r := rowOf(t, snap, hung.Name)
	if len(r.ID) == 0 || !r.Has(model.HealthNoMetadata) {
		t.Errorf("hung service row %+v: want it kept on its identity (last good read) and flagged", r)
	}
	if !strings.Contains(errorsText(r), "did not answer") {
		t.Errorf("errors %q do not say the disk did not answer", errorsText(r))
	}
	if !strings.Contains(snap.KeysErr, "identities folder") {
		t.Errorf("keys error %q", snap.KeysErr)
	}
	if len(snap.Rows) != 3 || rowOf(t, snap, l.Services[0].Name).ServiceState != model.ServiceIdle {
		t.Errorf("the other rows must stay up to date: %+v", snap.Rows)
	}
	// The next cycle starts no second read of the stuck file.
	r = rowOf(t, p.PollOnce(ctx), hung.Name)
	if !strings.Contains(errorsText(r), "has not answered for") {
		t.Errorf("second cycle errors %q", errorsText(r))
	}
}

func errorsText(r model.Row) string {
	var parts []string
	for _, e := range r.Errors {
		parts = append(parts, e.Message)
	}
	return strings.Join(parts, "; ")
}

func TestPollerWarnsAboutAnUnfinishedMerge(t *testing.T) {
	s := testkit.StartSim(t, 1)
	p, l := simPoller(t, s, time.Second)
	if err := os.WriteFile(filepath.Join(l.DataFolder, model.MergeJournalName), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	snap := p.PollOnce(context.Background())
	if !strings.Contains(snap.KeysErr, "postdeck merge --recover --to "+l.DataFolder) || len(snap.Rows) != 1 {
		t.Errorf("keys error %q, rows %d: want the recover command and the rows still shown", snap.KeysErr, len(snap.Rows))
	}
}

// A call that answered is not stuck: the same key read again at once (the
// log view reading the next chunk) is not refused as hung.
func TestGuardAgainAtOnce(t *testing.T) {
	t.Parallel()
	g := fsguard.New()
	for i := range 20000 {
		if _, err := fsguard.Guarded(g, "k", "the file", time.Minute, func() (int, error) { return i, nil }); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}
