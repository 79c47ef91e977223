package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// The plans below read at 1 MB/s, so a row of h hours is h × 3.6 GB.
var (
	gapOpens = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testGap  = CycleInfo{Known: true, RoundEnd: gapOpens, GapCloses: gapOpens.Add(12 * time.Hour)}
	before   = gapOpens.Add(-time.Hour)
)

func settings(k2pow time.Duration, lim Limits) PlanSettings {
	return PlanSettings{ReadBytesPerSec: 1e6, K2Pow: k2pow, Limits: lim}
}

func planRow(name, disk string, readHours float64) Row {
	return Row{Name: name + ".key", Service: name, Disk: disk, ID: []byte(name), NodeState: NodeIdle,
		ServiceState: ServiceStopped, SizeBytes: uint64(readHours * 3.6e9)}
}

// at is a time in the gap as hours:minutes after it opens.
func at(h, m int) time.Time {
	return gapOpens.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
}

// timesOf is each proof as "name start-finish", in plan order, the times as
// h:mm after the gap opens.
func timesOf(p Plan) []string {
	var out []string
	rel := func(t time.Time) string {
		d := t.Sub(gapOpens)
		return fmt.Sprintf("%d:%02d", int(d.Hours()), int(d.Minutes())%60)
	}
	for _, pp := range p.Proofs {
		out = append(out, pp.Service+" "+rel(pp.Start)+"-"+rel(pp.Finish))
	}
	return out
}

// wantTimes fails the test unless the plan's proofs are want (see timesOf).
func wantTimes(t *testing.T, p Plan, want ...string) {
	t.Helper()
	if got := timesOf(p); !slices.Equal(got, want) {
		t.Fatalf("plan %v, want %v", got, want)
	}
}

func TestPlanThatFits(t *testing.T) {
	rows := []Row{planRow("a", "d1", 2), planRow("b", "d1", 1), planRow("c", "d2", 3)}
	p := MakePlan(rows, testGap, before, settings(30*time.Minute, Limits{MaxPerDisk: 1}), nil)
	// Shortest first: b (1h30m) then a (2h30m) on d1; c alone on d2.
	wantTimes(t, p, "b 0:00-1:30", "a 1:30-4:00", "c 0:00-3:30")
	if p.Fits != 3 || p.Misses != 0 || p.Summary() != "plan: all 3 fit" {
		t.Errorf("fits %d misses %d summary %q", p.Fits, p.Misses, p.Summary())
	}
	if !p.From.Equal(gapOpens) {
		t.Errorf("a plan made before the gap starts when it opens, not %v", p.From)
	}
}

func TestPlanThatDoesNotFitOnOneDisk(t *testing.T) {
	rows := []Row{planRow("x", "disk1", 5), planRow("y", "disk1", 4), planRow("z", "disk1", 3)}
	p := MakePlan(rows, testGap, before, settings(30*time.Minute, Limits{MaxPerDisk: 1}), nil)
	wantTimes(t, p, "z 0:00-3:30", "y 3:30-8:00", "x 8:00-13:30")
	x := p.Proofs[2]
	if x.Fits || p.Misses != 1 || p.Summary() != "plan: 1 will miss" {
		t.Fatalf("x fits=%v, misses %d, summary %q", x.Fits, p.Misses, p.Summary())
	}
	if want := "disk disk1: 3 proofs, 12h of reading and 1h30m of k2pow in a 12h gap (max_proving_per_disk = 1)"; x.Reason != want {
		t.Errorf("reason %q\nwant   %q", x.Reason, want)
	}
	for _, pp := range p.Proofs[:2] {
		if !pp.Fits || pp.Reason != "" {
			t.Errorf("%s: fits=%v reason %q, want it to fit", pp.Service, pp.Fits, pp.Reason)
		}
	}
}

func TestPlanSharesADiskBetweenTwoSlots(t *testing.T) {
	rows := []Row{planRow("p", "d1", 1), planRow("q", "d1", 2), planRow("r", "d1", 3)}
	p := MakePlan(rows, testGap, before, settings(0, Limits{MaxPerDisk: 2}), nil)
	// p and q start together; r takes p's slot when p is done.
	wantTimes(t, p, "p 0:00-1:00", "q 0:00-2:00", "r 1:00-4:00")
}

func TestPlanOverallCapAndRemoteK2Pow(t *testing.T) {
	rows := []Row{planRow("a", "d1", 1), planRow("b", "d2", 2)}
	p := MakePlan(rows, testGap, before, settings(0, Limits{MaxPerDisk: 1, MaxTotal: 1}), nil)
	wantTimes(t, p, "a 0:00-1:00", "b 1:00-3:00")
	// Remote k2pow leaves the cap to the others: b starts at once.
	rows[1].RemoteK2Pow = true
	p = MakePlan(rows, testGap, before, settings(0, Limits{MaxPerDisk: 1, MaxTotal: 1}), nil)
	wantTimes(t, p, "a 0:00-1:00", "b 0:00-2:00")
}

func TestPlanMissesForTheCap(t *testing.T) {
	rows := []Row{planRow("a", "d1", 4), planRow("b", "d2", 4), planRow("c", "d3", 4), planRow("d", "d4", 4)}
	p := MakePlan(rows, testGap, before, settings(0, Limits{MaxPerDisk: 1, MaxTotal: 1}), nil)
	wantTimes(t, p, "a 0:00-4:00", "b 4:00-8:00", "c 8:00-12:00", "d 12:00-16:00")
	if p.Fits != 3 || p.Misses != 1 {
		t.Fatalf("fits %d misses %d, want 3 and 1 (finishing as the gap closes fits)", p.Fits, p.Misses)
	}
	if want := "max_proving = 1: 4 proofs, 16h of proving in a 12h gap"; p.Proofs[3].Reason != want {
		t.Errorf("reason %q, want %q", p.Proofs[3].Reason, want)
	}
}

func TestPlanProofLongerThanTheGap(t *testing.T) {
	p := MakePlan([]Row{planRow("big", "d1", 13)}, testGap, before, settings(30*time.Minute, Limits{MaxPerDisk: 1}), nil)
	want := "alone it takes 13h30m (k2pow 30m, reading 43.6 GiB at 977 KiB/s: 13h) in a 12h gap"
	if got := p.Proofs[0].Reason; got != want {
		t.Errorf("reason %q\nwant   %q", got, want)
	}
}

func TestPlanUsesMeasuredProofs(t *testing.T) {
	r := planRow("m", "d1", 4)
	measured := map[string]ProofMeasure{r.IDHex(): {ReadBytesPerSec: 2e6, K2Pow: 10 * time.Minute}}
	p := MakePlan([]Row{r}, testGap, before, settings(30*time.Minute, Limits{MaxPerDisk: 1}), measured)
	wantTimes(t, p, "m 0:00-2:10")
}

func TestPlanInsideTheGap(t *testing.T) {
	now := at(2, 0)
	proving := planRow("a", "d1", 4)
	proving.ServiceState, proving.NodeState = ServiceProving, NodeProving
	proving.Progress = &Progress{Phase: "disk", Percent: 50}
	waiting := planRow("b", "d1", 1)
	waiting.NodeState = NodeProving
	done := planRow("c", "d1", 1) // the node is IDLE again: its proof is in
	p := MakePlan([]Row{waiting, done, proving}, testGap, now, settings(30*time.Minute, Limits{MaxPerDisk: 1}), nil)
	// a has half of its 4h left and goes first; b waits for the disk.
	wantTimes(t, p, "a 2:00-4:00", "b 4:00-5:30")
}

func TestPlanBeforeTheGapPlansAProvingServiceAfresh(t *testing.T) {
	r := planRow("a", "d1", 4)
	r.ServiceState, r.Progress = ServiceProving, &Progress{Phase: "disk", Percent: 90}
	p := MakePlan([]Row{r, planRow("b", "d1", 1)}, testGap, before, settings(0, Limits{MaxPerDisk: 1}), nil)
	wantTimes(t, p, "b 0:00-1:00", "a 1:00-5:00")
}

func TestPlanNamesAProofItCannotPlan(t *testing.T) {
	r := planRow("nometa", "d1", 0)
	p := MakePlan([]Row{r, planRow("ok", "d1", 1)}, testGap, before, settings(0, Limits{MaxPerDisk: 1}), nil)
	if p.Misses != 1 || p.Fits != 1 {
		t.Fatalf("fits %d misses %d", p.Fits, p.Misses)
	}
	for _, pp := range p.Proofs {
		if pp.Service == "nometa" && (!strings.Contains(pp.Reason, "postdata_metadata.json of nometa") || !pp.Start.IsZero()) {
			t.Errorf("unplannable proof %+v", pp)
		}
	}
}

// Why shortest first: with one slot per disk and one deadline, no order of
// a disk's proofs fits more of them. Checked against every order of many
// random sets; and name order, which automatic proving used before, loses.
func TestShortestFirstFitsTheMost(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	lim := Limits{MaxPerDisk: 1}
	for trial := 0; trial < 200; trial++ {
		ps := make([]PlannedProof, 2+rng.IntN(5))
		for i := range ps {
			ps[i] = PlannedProof{Service: fmt.Sprint(i), Disk: "d", Read: time.Duration(1+rng.IntN(8)) * time.Hour}
		}
		best := 0
		permute(ps, 0, func(order []PlannedProof) { best = max(best, fitCount(order, lim)) })
		sorted := slices.Clone(ps)
		orderProofs(sorted)
		if got := fitCount(sorted, lim); got != best {
			t.Fatalf("shortest first fits %d of %v, some order fits %d", got, ps, best)
		}
	}
	names := []Row{planRow("a", "d", 8), planRow("b", "d", 3), planRow("c", "d", 3), planRow("d", "d", 3)}
	byName := []PlannedProof{}
	for i := range names {
		byName = append(byName, planned(&names[i], settings(0, lim), ProofMeasure{}, false))
	}
	if n, spt := fitCount(byName, lim), MakePlan(names, testGap, before, settings(0, lim), nil).Fits; n != 2 || spt != 3 {
		t.Errorf("name order fits %d, shortest first %d: want 2 and 3", n, spt)
	}
}

// fitCount runs proofs in the given order from the gap's opening and counts
// those done when it closes.
func fitCount(order []PlannedProof, lim Limits) int {
	ps := slices.Clone(order)
	simulate(ps, gapOpens, lim)
	n := 0
	for _, pp := range ps {
		if !pp.Finish.After(testGap.GapCloses) {
			n++
		}
	}
	return n
}

// permute calls f with every order of ps (ps[k:] permuted in place).
func permute(ps []PlannedProof, k int, f func([]PlannedProof)) {
	if k == len(ps) {
		f(ps)
		return
	}
	for i := k; i < len(ps); i++ {
		ps[k], ps[i] = ps[i], ps[k]
		permute(ps, k+1, f)
		ps[k], ps[i] = ps[i], ps[k]
	}
}

func TestScheduleStartsInThePlansOrder(t *testing.T) {
	rows := []Row{planRow("a", "d1", 5), planRow("b", "d1", 1)}
	for i := range rows {
		rows[i].NodeState, rows[i].Proc = NodeProving, ProcInfo{State: ProcStopped, Startable: true}
	}
	plan := MakePlan(rows, testGap, before, settings(0, Limits{MaxPerDisk: 1}), nil)
	st := Schedule(rows, Limits{MaxPerDisk: 1}, nil, &plan)
	if got := actions(st); !slices.Equal(got, []string{"start b"}) {
		t.Errorf("actions %v, want the shorter proof b started first", got)
	}
}

func BenchmarkPlan1000On20Disks(b *testing.B) {
	rows := make([]Row, 1000)
	for i := range rows {
		rows[i] = planRow(fmt.Sprintf("id%04d", i), fmt.Sprintf("disk%02d", i%20), float64(1+i%7)/4)
	}
	set := PlanSettings{ReadBytesPerSec: 100 << 20, K2Pow: 30 * time.Minute, Limits: Limits{MaxPerDisk: 1, MaxTotal: 8}}
	b.ReportAllocs()
	for b.Loop() {
		MakePlan(rows, testGap, before, set, nil)
	}
}

func TestScheduleLeavesRemoteK2PowOutOfTheCap(t *testing.T) {
	rows := []Row{planRow("a", "d1", 1), planRow("b", "d2", 1), planRow("c", "d3", 1)}
	for i := range rows {
		rows[i].NodeState, rows[i].Proc = NodeProving, ProcInfo{State: ProcStopped, Startable: true}
	}
	rows[0].Proc.State, rows[0].ServiceState, rows[0].RemoteK2Pow = ProcRunning, ServiceProving, true
	rows[1].RemoteK2Pow = true
	st := Schedule(rows, Limits{MaxPerDisk: 1, MaxTotal: 1}, nil, nil)
	// a proves with remote k2pow and b has it too: neither fills max_proving,
	// so c takes the one slot.
	if got := actions(st); !slices.Equal(got, []string{"start b", "start c"}) {
		t.Errorf("actions %v, want b and c started", got)
	}
}

func TestPlanOfAClosedGapIsEmpty(t *testing.T) {
	p := MakePlan([]Row{planRow("a", "d1", 1)}, testGap, testGap.GapCloses, settings(0, Limits{MaxPerDisk: 1}), nil)
	if len(p.Proofs) != 0 || p.Summary() != "" {
		t.Errorf("a closed gap planned %v", timesOf(p))
	}
}
