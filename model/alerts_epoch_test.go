package model

import (
	"strings"
	"testing"
	"time"
)

// The epoch 88 gap of these tests: open 08:00, closed 20:00.
var (
	gapOpen  = time.Date(2026, 12, 21, 8, 0, 0, 0, time.UTC)
	gapClose = gapOpen.Add(12 * time.Hour)
)

// earner is a row with its records of epochs 87 (rewards in 88, open) and 88.
func earner(name string, id byte, e88 EpochRecord) Row {
	e87 := EpochRecord{Epoch: 87, ATX: &ATX{Weight: 500}, ATXListed: true, RewardsOpen: true,
		Rewards: EpochRewards{Epoch: 88, Count: 2, Listed: true}}
	e88.Epoch, e88.Open, e88.RewardsOpen = 88, true, true
	return Row{Name: name, ID: []byte{id}, Service: name, Epochs: []EpochRecord{e87, e88}}
}

// snap is the snapshot at t, the countdown at epoch 88's gap until it closes
// and at epoch 89's after.
func snap(t time.Time, rows ...Row) *Snapshot {
	ci := CycleInfo{Known: true, RoundEnd: gapOpen, GapCloses: gapClose}
	if !t.Before(gapClose) {
		ci.RoundEnd, ci.GapCloses = gapOpen.Add(336*time.Hour), gapClose.Add(336*time.Hour)
	}
	ci.InGap = !t.Before(ci.RoundEnd) && t.Before(ci.GapCloses)
	return &Snapshot{At: t, Cycle: ci, Rows: rows}
}

func kinds(as []Alert) string {
	var k []string
	for _, a := range as {
		k = append(k, a.Kind+":"+a.Name)
	}
	return strings.Join(k, ",")
}

// Through the gap nothing is said; 30 minutes after it closes each identity
// without an ATX of epoch 88 is told once, with the step that failed; the
// one with its ATX is not.
func TestATXMissingAfterTheGap(t *testing.T) {
	failed := earner("post02.key", 2, EpochRecord{Proof: ProofStep{Started: gapOpen, Completed: gapOpen.Add(time.Hour), Failed: true}})
	running := earner("post03.key", 3, EpochRecord{Proof: ProofStep{Started: gapOpen.Add(11 * time.Hour)}})
	fine := earner("post01.key", 1, EpochRecord{ATX: &ATX{Weight: 9}, ATXListed: true})
	w := EpochWatch{}
	for _, at := range []time.Time{gapOpen.Add(-time.Hour), gapOpen.Add(6 * time.Hour), gapClose.Add(time.Minute), gapClose.Add(29 * time.Minute)} {
		if got := w.Check(snap(at, fine, failed, running)); len(got) != 0 {
			t.Fatalf("at %s: %s", at.Format(time.Kitchen), kinds(got))
		}
	}
	got := w.Check(snap(gapClose.Add(31*time.Minute), fine, failed, running))
	if kinds(got) != "atx-missing:post02.key,atx-missing:post03.key" {
		t.Fatalf("after the gap: %s", kinds(got))
	}
	if m := got[0].Message; !strings.Contains(m, "no ATX for epoch 88") || !strings.Contains(m, WhyProofFailed) {
		t.Errorf("failed proof's message: %s", m)
	}
	if m := got[1].Message; !strings.Contains(m, "the proof started 2026-12-21T19:00:00Z and is not done") {
		t.Errorf("running proof's message: %s", m)
	}
	if again := w.Check(snap(gapClose.Add(2*time.Hour), fine, failed, running)); len(again) != 0 {
		t.Errorf("told twice: %s", kinds(again))
	}
}

// Rewards stopped: the ATX of epoch 87 earns in 88; while the count grows
// nothing is said; once it stands still for the configured while, one
// alert; a new reward and another quiet while, another.
func TestRewardsStopped(t *testing.T) {
	w := EpochWatch{RewardsStopped: 6 * time.Hour}
	start := gapOpen.Add(-48 * time.Hour)
	at := func(h int, count int) []Alert {
		r := earner("post01.key", 1, EpochRecord{})
		r.Epochs[0].Rewards.Count = count
		return w.Check(snap(start.Add(time.Duration(h)*time.Hour), r))
	}
	for h, c := range []int{2, 3, 3, 3, 3, 3} { // the last reward at hour 1
		if got := at(h, c); len(got) != 0 {
			t.Fatalf("hour %d: %s", h, kinds(got))
		}
	}
	got := at(7, 3)
	if kinds(got) != "rewards-stopped:post01.key" || !strings.Contains(got[0].Message, "no new reward for 6h (ATX of epoch 87, weight 500; 3 rewards in epoch 88 so far)") {
		t.Fatalf("after 6 quiet hours: %v", got)
	}
	if got := at(9, 3); len(got) != 0 {
		t.Errorf("told twice: %s", kinds(got))
	}
	at(10, 4)
	if got := at(16, 4); kinds(got) != "rewards-stopped:post01.key" {
		t.Errorf("after a new reward and 6 quiet hours: %s", kinds(got))
	}
}

// All the rewards its eligibilities promised are in: quiet is expected.
func TestRewardsStoppedNotWhenAllAreIn(t *testing.T) {
	w := EpochWatch{RewardsStopped: time.Hour}
	r := earner("post01.key", 1, EpochRecord{})
	r.Epochs[0].Eligibilities = Eligibilities{N: 2, Layers: 2, Known: true}
	for h := range 5 {
		if got := w.Check(snap(gapOpen.Add(-time.Duration(48-h)*time.Hour), r)); len(got) != 0 {
			t.Fatalf("hour %d: %s", h, kinds(got))
		}
	}
}

// A plan with misses, before the gap: told once with the names and reasons;
// again when more will miss; never once the gap is open.
func TestPlanMissesAlert(t *testing.T) {
	plan := func(misses int) *Plan {
		p := &Plan{GapStart: gapOpen, GapEnd: gapClose, Fits: 3 - misses, Misses: misses}
		for i := range 3 {
			pp := PlannedProof{Name: "post0" + string(rune('1'+i)) + ".key", Fits: i < 3-misses}
			if !pp.Fits {
				pp.Reason = "disk disk1: 3 proofs, 31h of reading in a 12h gap"
			}
			p.Proofs = append(p.Proofs, pp)
		}
		return p
	}
	w := EpochWatch{}
	s := snap(gapOpen.Add(-3 * time.Hour))
	s.Plan = plan(1)
	got := w.Check(s)
	if kinds(got) != "plan-misses:" || !strings.Contains(got[0].Message, "1 of 3 proofs will miss it: post03.key (disk disk1: 3 proofs, 31h of reading in a 12h gap)") {
		t.Fatalf("first miss: %v", got)
	}
	s.At = s.At.Add(time.Hour)
	if got := w.Check(s); len(got) != 0 {
		t.Errorf("told twice: %s", kinds(got))
	}
	s.Plan = plan(2)
	if got := w.Check(s); kinds(got) != "plan-misses:" || !strings.Contains(got[0].Message, "2 of 3") {
		t.Errorf("more misses: %v", got)
	}
	s = snap(gapOpen.Add(time.Hour))
	s.Plan = plan(3)
	if got := w.Check(s); len(got) != 0 {
		t.Errorf("inside the gap: %s", kinds(got))
	}
}

// An identity turning malicious raises an alert, once.
func TestMaliciousAlert(t *testing.T) {
	r := Row{Name: "post04.key", ID: []byte{4}}
	prev := &Snapshot{Rows: []Row{r}}
	r.Health = []Health{HealthMalicious}
	cur := &Snapshot{Rows: []Row{r}}
	got := Transitions(prev, cur)
	if kinds(got) != "malicious:post04.key" || !strings.Contains(got[0].Message, "banned for good") {
		t.Fatalf("got %v", got)
	}
	if again := Transitions(cur, cur); len(again) != 0 {
		t.Errorf("told twice: %s", kinds(again))
	}
}
