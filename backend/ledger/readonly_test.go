package ledger

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"postdeck/model"
)

func TestReadOnlyBesideTheWriter(t *testing.T) {
	now := &testClock{epochAt(5, 1)}
	w, path, a := oneATX(t, now)
	flush(t, w)

	// The writer still holds the lock: a reader gets in all the same.
	r, err := OpenReadOnly(path, Options{Timing: testTiming, Now: now.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := records(t, r, []Identity{a}, 3, 4)
	if rec := got[key("a", 4)]; rec.ATX == nil || rec.ATX.Weight != 7 || !rec.ATXListed {
		t.Errorf("epoch 4: %+v, want the ATX of weight 7", rec)
	}
	if rec := got[key("a", 3)]; rec.ATX != nil || model.Why(rec) != model.WhyNotObserved {
		t.Errorf("epoch 3: why %q, want %q", model.Why(rec), model.WhyNotObserved)
	}
	ids, err := r.Identities()
	if err != nil || len(ids) != 1 || string(ids[0]) != string(a.ID) {
		t.Errorf("identities %x, %v; want only a", ids, err)
	}
	r.AddATXs(HistoryQuery{}, nil) // dropped, never blocks
}

func TestReadOnlyNeverCreates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	_, err := OpenReadOnly(PathIn(dir), Options{Timing: testTiming})
	if !errors.Is(err, ErrNoLedger) {
		t.Fatalf("error %v, want ErrNoLedger", err)
	}
	if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
		t.Errorf("the state folder was created: %v", serr)
	}
	t.Log(err)
}

func TestReadOnlyAfterTheWriterClosed(t *testing.T) {
	now := &testClock{epochAt(5, 1)}
	w, path, a := oneATX(t, now)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := OpenReadOnly(path, Options{Timing: testTiming, Now: now.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rec := records(t, r, []Identity{a}, 4, 4)[key("a", 4)]; rec.ATX == nil {
		t.Errorf("epoch 4 has no ATX after the writer closed: %+v", rec)
	}
}

// oneATX is a ledger whose List of epochs 3 and 4 found identity a's ATX
// of epoch 4 (weight 7, 2 units), still open for writing.
func oneATX(t *testing.T, now *testClock) (*Ledger, string, Identity) {
	t.Helper()
	w, path := openTemp(t, now)
	a := ident("a", 1)
	w.AddATXs(HistoryQuery{IDs: [][]byte{a.ID}, FromEpoch: 3, ToEpoch: 4},
		[]model.ATX{{ID: []byte{9}, SmesherID: a.ID, PublishEpoch: 4, Weight: 7, NumUnits: 2}})
	return w, path, a
}
