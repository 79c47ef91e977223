package ui

import (
	"strings"
	"testing"
	"time"

	"postdeck/model"
	"postdeck/themes"
)

func TestCycleSegment(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 1, 5, h, m, 0, 0, time.UTC) }
	c := model.CycleInfo{Known: true, RoundEnd: at(8, 0), GapCloses: at(20, 0)}
	cases := []struct {
		now  time.Time
		text string
		tone themes.Tone
	}{
		{at(8, 0).Add(-(3*24 + 4) * time.Hour), "cycle gap in 3d4h", themes.ToneMuted},
		{at(2, 48), "cycle gap in 5h12m", themes.ToneMuted},
		{at(7, 59).Add(30 * time.Second), "cycle gap in <1m", themes.ToneMuted},
		{at(8, 0), "CYCLE GAP: closes in 12h00m", themes.ToneAccent},
		{at(14, 48), "CYCLE GAP: closes in 5h12m", themes.ToneAccent},
		{at(19, 48), "CYCLE GAP: closes in 12m", themes.ToneAccent},
	}
	for _, tc := range cases {
		seg, ok := cycleSegment(&c, tc.now)
		if !ok || seg.text != tc.text || seg.tone != tc.tone {
			t.Errorf("%s: got %q tone %v ok %v, want %q tone %v", tc.now, seg.text, seg.tone, ok, tc.text, tc.tone)
		}
	}
	if _, ok := cycleSegment(&c, at(20, 0)); ok {
		t.Error("a closed gap is shown")
	}
	if _, ok := cycleSegment(&model.CycleInfo{}, at(1, 0)); ok {
		t.Error("an unknown cycle is shown")
	}
	c.Mismatch = "the node has 10 layers per epoch"
	if seg, _ := cycleSegment(&c, at(1, 0)); seg.text != "cycle gap in 7h00m (?)" || seg.tone != themes.ToneWarn {
		t.Errorf("mismatch: %+v", seg)
	}
}

func TestHeaderShowsThePlan(t *testing.T) {
	snap := demo()
	snap.Plan = &model.Plan{Fits: 4, Proofs: make([]model.PlannedProof, 4)}
	if got := screen(newTest(t, 160, 20, &snap)); !strings.Contains(strings.SplitN(got, "\n", 2)[0], "plan: all 4 fit") {
		t.Errorf("header lacks the plan that fits:\n%s", got)
	}
	snap.Plan = &model.Plan{Fits: 1, Misses: 3, Proofs: make([]model.PlannedProof, 4)}
	m := newTest(t, 160, 20, &snap)
	if got := screen(m); !strings.Contains(strings.SplitN(got, "\n", 2)[0], "plan: 3 will miss") {
		t.Errorf("header lacks the misses:\n%s", got)
	}
	if seg, _ := planSegment(snap.Plan); seg.tone != themes.ToneWarn {
		t.Errorf("misses in tone %v, want the warning tone", seg.tone)
	}
	snap.Plan = nil
	if got := screen(newTest(t, 160, 20, &snap)); strings.Contains(got, "plan:") {
		t.Errorf("no plan, yet the header shows one:\n%s", got)
	}
}
