package ledger

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"postdeck/model"
)

// wantError checks the error's kind and that its message names the file
// and what to do.
func wantError(t *testing.T, err error, kind error, path string, words ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v, want kind %v", err, kind)
	}
	for _, w := range append([]string{path}, words...) {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestASecondPostdeckIsToldWhoHoldsTheLedger(t *testing.T) {
	_, path := openTemp(t, &testClock{})
	_, err := Open(path, Options{Timing: testTiming})
	wantError(t, err, ErrLocked, path, fmt.Sprintf("pid %d", os.Getpid()), "runs without the ledger")
}

func TestACorruptFileIsRefusedWithWhatToDo(t *testing.T) {
	t.Run("not a database", func(t *testing.T) {
		path := t.TempDir() + "/" + FileName
		os.WriteFile(path, []byte("this is not SQLite, it is a note"), 0o600)
		_, err := Open(path, Options{Timing: testTiming})
		wantError(t, err, ErrCorrupt, path, "mv "+path+" "+path+".bad", "refills ATXs and rewards")
	})
	t.Run("damaged pages", func(t *testing.T) {
		l, path := openTemp(t, &testClock{})
		journey(l)
		l.Close()
		b, _ := os.ReadFile(path)
		for i := 4096; i < len(b); i++ { // every page after the first
			b[i] = 0x5a
		}
		os.WriteFile(path, b, 0o600)
		_, err := Open(path, Options{Timing: testTiming})
		wantError(t, err, ErrCorrupt, path, "mv ")
	})
}

func TestAFullDiskIsReportedAndTheLedgerStillReads(t *testing.T) {
	testPragmas = "&_pragma=max_page_count(12)" // the file may not grow past 12 pages
	defer func() { testPragmas = "" }()
	l, path := openTemp(t, &testClock{})
	l.AddATXs(HistoryQuery{}, []model.ATX{{ID: []byte{1}, SmesherID: idA.ID, PublishEpoch: 1}})
	flush(t, l)
	big := make([]model.Reward, 5000)
	for i := range big {
		big[i] = model.Reward{Layer: uint32(20 + i), Total: 1, Smesher: idA.ID}
	}
	l.AddRewards(HistoryQuery{}, big)
	err := l.Flush(t.Context())
	wantError(t, err, ErrFull, path, "free space")
	if st := l.Status(); st.Lost != 1 || !errors.Is(st.Err, ErrFull) {
		t.Errorf("status %+v: want the rewards lost, the error kept", st)
	}
	got := records(t, l, []Identity{idA}, 1, 1)
	if got[key("a.key", 1)].ATX == nil {
		t.Error("the ATX committed before the disk filled is gone")
	}
}

func TestAFullQueueDropsAndCounts(t *testing.T) {
	l, _ := openTemp(t, &testClock{})
	hold, held := make(chan struct{}), make(chan struct{})
	l.enqueue(op{apply: func(*sql.Tx) error { close(held); <-hold; return nil }})
	<-held // the writer is inside a transaction; the queue is empty
	for range QueueSize + 5 {
		l.Observed(testTiming.Genesis, epochAt(1, 0))
	}
	if st := l.Status(); st.Dropped != 5 || st.Queued != QueueSize {
		t.Errorf("status %+v, want %d queued and 5 dropped", st, QueueSize)
	}
	close(hold)
	flush(t, l)
}

func TestOpenWantsTheNetworksTiming(t *testing.T) {
	path := t.TempDir() + "/" + FileName
	_, err := Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "no network timing") {
		t.Errorf("Open without timing: %v", err)
	}
}
