package ledger

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"postdeck/model"
)

// crashEnv names the ledger the child writes to; the child is this test
// binary running TestCrashChild.
const crashEnv = "POSTDECK_LEDGER_CRASH_PATH"

// crashIDs is how many identities each of the child's rounds writes: big
// enough that the kill lands inside a transaction now and then.
const crashIDs = 200

// TestCrashChild is the child of the kill -9 test: it writes round after
// round (an ATX for each of crashIDs identities, their rewards, an event),
// flushes each and prints "committed N" once round N is on disk, until it
// is killed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("only run by TestKilledMidWriteLosesNoCommittedRow")
	}
	l, err := Open(path, Options{Timing: testTiming})
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	for n := uint32(1); ; n++ {
		atxs, rewards := crashRound(n)
		ids := make([][]byte, len(atxs))
		for i, a := range atxs {
			ids[i] = a.SmesherID
		}
		l.AddATXs(HistoryQuery{IDs: ids, FromEpoch: n, ToEpoch: n}, atxs)
		l.AddRewards(HistoryQuery{}, rewards)
		if err := l.Flush(context.Background()); err != nil {
			fmt.Println("flush:", err)
			os.Exit(1)
		}
		fmt.Printf("committed %d\n", n)
	}
}

// crashRound is round n's writes: every identity's ATX of epoch n and one
// reward in epoch n+1.
func crashRound(n uint32) ([]model.ATX, []model.Reward) {
	atxs := make([]model.ATX, crashIDs)
	rewards := make([]model.Reward, crashIDs)
	for i := range crashIDs {
		id := []byte{byte(i), byte(i >> 8), 0xcc}
		atxs[i] = model.ATX{ID: []byte{byte(n), byte(i)}, SmesherID: id, PublishEpoch: n, Weight: uint64(n), NumUnits: 4}
		rewards[i] = model.Reward{Layer: (n+1)*testTiming.LayersPerEpoch + 1, Total: uint64(n), Smesher: id}
	}
	return atxs, rewards
}

func TestKilledMidWriteLosesNoCommittedRow(t *testing.T) {
	path := t.TempDir() + "/" + FileName
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Read until the child has acknowledged 30 rounds, then kill it at once:
	// it is in the middle of round 31 or later.
	var last uint32
	sc := bufio.NewScanner(out)
	for last < 30 && sc.Scan() {
		n, ok := strings.CutPrefix(sc.Text(), "committed ")
		v, err := strconv.Atoi(n)
		if !ok || err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		last = uint32(v)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	for sc.Scan() { // what it acknowledged before the kill arrived
		if n, ok := strings.CutPrefix(sc.Text(), "committed "); ok {
			v, _ := strconv.Atoi(n)
			last = uint32(v)
		}
	}
	cmd.Wait()
	if last < 30 {
		t.Fatalf("the child acknowledged only %d rounds", last)
	}

	// Open runs PRAGMA quick_check: a damaged file would fail here.
	l, err := Open(path, Options{Timing: testTiming, Now: func() time.Time { return epochAt(100, 0) }})
	if err != nil {
		t.Fatalf("reopening after kill -9: %v", err)
	}
	defer l.Close()
	ids := make([]Identity, crashIDs)
	for i := range ids {
		ids[i] = Identity{ID: []byte{byte(i), byte(i >> 8), 0xcc}}
	}
	recs, err := l.Records(ids, 1, last)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.ATX == nil || r.ATX.Weight != uint64(r.Epoch) || r.Rewards.Count != 1 || r.Rewards.Sum != uint64(r.Epoch) || !r.ATXListed {
			t.Fatalf("round %d acknowledged but its record is %+v", r.Epoch, r)
		}
	}
	// The round the kill interrupted is all there or not at all.
	next, _ := l.Records(ids, last+1, last+1)
	var there int
	for _, r := range next {
		if r.ATX != nil {
			there++
		}
	}
	if there != 0 && there != crashIDs {
		t.Errorf("the interrupted round left %d of %d ATXs", there, crashIDs)
	}
}
